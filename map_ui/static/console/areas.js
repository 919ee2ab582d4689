/*
 * Polygon layers: towns (outlines + names), grids (coloured by grid type, hover
 * highlight, names from zoom 14) and river patrol zones (by zone kind). Their
 * geometry arrives simplified to ~1 m by PostGIS, so 1,301 grids draw at once.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const GRID_LABEL_ZOOM = 14;

  function gridPopupHtml(p) {
    // no open_events: the asker may not read events (read policy), so nothing is shown
    const extra = p.open_events == null ? '' : `<p class="oc-muted">${OC.titleHtml('未办结事件', 'Open cases')}: <b>${OC.esc(p.open_events)}</b></p>`;
    const obj = Object.assign({}, p, { town_code: p.town_name ? `${p.town_name} (${p.town_code})` : p.town_code });
    return OC.popup('grids', `${OC.esc(p.name)} <span class="oc-en">${OC.esc(p.code)}</span>`, obj,
      ['code', 'name', 'town_code', 'grid_type', 'worker_name', 'worker_phone', 'population', 'version'], extra);
  }

  const areas = {
    townsData: null,
    data: { towns: null, grids: null, river_patrol_zones: null },
    groups: {},
    index: { towns: {}, grids: {}, river_patrol_zones: {} },
    labels: null,
    counts: { towns: 0, grids: 0, river_patrol_zones: 0 },
    etags: {},
    refreshed: {}, // layer → how many times a change was redrawn
    gridPopupHtml,

    init(map) {
      this.map = map;
      this.townsData = OC.api('/layers/towns');
      ['towns', 'grids', 'river_patrol_zones'].forEach((id) => {
        this.groups[id] = L.featureGroup();
        OC.registerLayer(id, this.groups[id]);
      });
      this.labels = L.layerGroup();
      this.groups.grids.on('add', () => this._gridLabels());
      this.groups.grids.on('remove', () => this.labels.remove());
      map.on('moveend zoomend', () => this._gridLabels());
      OC.on('variant', () => this.renderAll());
    },

    /** Fetch and draw one polygon layer; resolves when drawn. */
    load(id) {
      if (id === 'towns') {
        return this.townsData.then((fc) => {
          this.data[id] = fc;
          this.render(id);
        });
      }
      return OC.apiFresh('/layers/' + id).then((doc) => {
        this.etags[id] = doc.etag;
        this.data[id] = doc.body;
        this.render(id);
      });
    },

    /**
     * Redraw a layer if it changed on the server (another editor's redrawn grids, a
     * new patrol zone); resolves to true when it did. A grid edit in progress here
     * holds the grids back until it ends, so nothing moves under the editor.
     */
    async refresh(id) {
      if (id === 'grids' && OC.editing && OC.editing.busy()) return false;
      const doc = await OC.apiFresh('/layers/' + id, this.etags[id]);
      if (!doc) return false;
      this.etags[id] = doc.etag;
      this.data[id] = doc.body;
      this.render(id);
      this.refreshed[id] = (this.refreshed[id] || 0) + 1;
      return true;
    },

    renderAll() {
      Object.keys(this.data).forEach((id) => this.data[id] && this.render(id));
    },

    render(id) {
      const group = this.groups[id];
      group.clearLayers();
      this.index[id] = {};
      const style = OC.layerCfg(id).style;
      const base = { coordsToLatLng: OC.coordsToLatLng };
      let layer;
      if (id === 'towns') {
        layer = L.geoJSON(this.data[id], Object.assign(base, {
          interactive: false,
          style: () => ({ color: style.color, weight: style.weight, fillOpacity: style.fill_opacity, dashArray: '6 4' }),
        }));
        this.data[id].features.forEach((f) => {
          const [lon, lat] = f.properties.label;
          group.addLayer(L.marker(OC.toLatLng(lon, lat), {
            interactive: false, keyboard: false,
            icon: L.divIcon({ className: 'oc-town-label', html: `<span>${OC.esc(OC.shortName(f.properties.name))}</span>`, iconSize: null }),
          }));
        });
      } else if (id === 'grids') {
        const pathStyle = (f) => ({
          color: OC.colorOf(id, f.properties), weight: style.weight,
          fillColor: OC.colorOf(id, f.properties), fillOpacity: style.fill_opacity * 0.6,
        });
        layer = L.geoJSON(this.data[id], Object.assign(base, {
          style: pathStyle,
          onEachFeature: (f, l) => {
            this.index.grids[f.properties.code] = l;
            l.on('mouseover', () => { l.setStyle({ weight: style.weight * 2.5, fillOpacity: 0.45, color: '#ffffff' }); });
            l.on('mouseout', () => { l.setStyle(pathStyle(f)); });
          },
        }));
      } else {
        layer = L.geoJSON(this.data[id], Object.assign(base, {
          bubblingMouseEvents: false,
          style: (f) => ({ color: OC.colorOf(id, f.properties), weight: style.weight + 0.5, fillColor: OC.colorOf(id, f.properties), fillOpacity: 0.3 }),
          onEachFeature: (f, l) => {
            this.index[id][f.properties.code] = l;
            l.options.bubblingMouseEvents = false;
            l.bindPopup(() => OC.popup(id, `${OC.esc(f.properties.name)} <span class="oc-en">${OC.esc(f.properties.code)}</span>`,
              f.properties, ['code', 'name', 'river', 'zone_kind', 'river_chief', 'river_chief_level', 'area_km2']));
          },
        }));
      }
      group.addLayer(layer);
      this.counts[id] = this.data[id].features.length;
      if (id === 'grids') this._gridLabels();
    },

    /** Grid names only from zoom 14 and only inside the view: 1,301 DOM labels would be slow. */
    _gridLabels() {
      const map = this.map;
      this.labels.clearLayers();
      if (!this.data.grids || !map.hasLayer(this.groups.grids) || map.getZoom() < GRID_LABEL_ZOOM) {
        this.labels.remove();
        return;
      }
      const view = map.getBounds().pad(0.1);
      this.data.grids.features.forEach((f) => {
        const ll = OC.toLatLng(f.properties.label[0], f.properties.label[1]);
        if (!view.contains(ll)) return;
        this.labels.addLayer(L.marker(ll, {
          interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'oc-grid-label', html: `<span>${OC.esc(f.properties.name)}</span>`, iconSize: null }),
        }));
      });
      this.labels.addTo(map);
    },

    labelCount() {
      return this.map.hasLayer(this.labels) ? this.labels.getLayers().length : 0;
    },

    /** Fly to a grid and open its popup (search). */
    openGrid(code) {
      const f = this.data.grids && this.data.grids.features.find((x) => x.properties.code === code);
      const l = this.index.grids[code];
      if (!f || !l) return false;
      if (!this.map.hasLayer(this.groups.grids)) this.map.addLayer(this.groups.grids);
      this.map.fitBounds(l.getBounds(), { maxZoom: 16 });
      L.popup().setLatLng(OC.toLatLng(f.properties.label[0], f.properties.label[1]))
        .setContent(gridPopupHtml(f.properties)).openOn(this.map);
      return true;
    },

    townBounds(code) {
      const f = this.data.towns && this.data.towns.features.find((x) => x.properties.code === code);
      return f ? L.geoJSON(f, { coordsToLatLng: OC.coordsToLatLng }).getBounds() : null;
    },
  };
  OC.areas = areas;
})();
