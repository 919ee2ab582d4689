/*
 * Basemaps. The default is drawn from onemap's own data — Yangtze water
 * (© OpenStreetMap contributors), the district outline and its towns — so the
 * console works with no tile server and no internet. Configured intranet tile
 * services (XYZ / WMTS templates) are offered beside it; choosing a GCJ-02 one
 * switches every overlay to GCJ-02 coordinates ("variant" event).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  function offlineLayer(map) {
    const group = L.layerGroup([], { attribution: 'Water © OpenStreetMap contributors' });
    const opts = (style) => ({ pane: 'oc-basemap', interactive: false, coordsToLatLng: OC.coordsToLatLng, style });
    const parts = { water: null, district: null, towns: null };
    const render = () => {
      group.clearLayers();
      if (parts.water) group.addLayer(L.geoJSON(parts.water, opts({ stroke: false, fillColor: '#0c3559', fillOpacity: 1 })));
      if (parts.district) group.addLayer(L.geoJSON(parts.district, opts({ color: '#2f6fb3', weight: 3, fillColor: '#112640', fillOpacity: 1 })));
      if (parts.towns) {
        group.addLayer(L.geoJSON(parts.towns, opts((f) => ({
          color: '#21456d', weight: 1, fillColor: parseInt(f.properties.code.slice(-2), 10) % 2 ? '#16304f' : '#112640', fillOpacity: 1,
        }))));
      }
    };
    group.loaded = Promise.all([
      OC.api('/basemap/water').then((d) => (parts.water = d)),
      OC.api('/basemap/district').then((d) => (parts.district = d)),
      OC.areas.townsData.then((d) => (parts.towns = d)),
    ]).then(render).catch((e) => OC.reportError('basemap', e));
    group.render = render;
    // Attribution (Leaflet shows a layer's getAttribution while it is on the map).
    group.getAttribution = () => '水域 Water © OpenStreetMap contributors';
    return group;
  }

  function tileLayer(bm) {
    const opts = { attribution: bm.attribution || '', maxZoom: bm.max_zoom || 18 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    return L.tileLayer(bm.url, opts);
  }

  OC.basemap = {
    layers: {},
    current: null,
    init(map) {
      const pane = map.createPane('oc-basemap');
      pane.style.zIndex = 150;
      OC.state.cfg.basemaps.forEach((bm) => {
        this.layers[bm.id] = bm.offline ? offlineLayer(map) : tileLayer(bm);
      });
      this.select(OC.state.cfg.basemaps[0].id);
      return this.layers.offline.loaded;
    },
    select(id) {
      const map = OC.state.map;
      const bm = OC.state.cfg.basemaps.find((b) => b.id === id);
      if (!bm) return;
      if (this.current) map.removeLayer(this.layers[this.current]);
      this.current = id;
      map.addLayer(this.layers[id]);
      map.setMaxZoom(bm.max_zoom || 19);
      this.setVariant(bm.crs_variant || 'wgs84');
    },
    /** Switch overlay coordinates between WGS84 and GCJ-02 and redraw every layer. */
    setVariant(variant) {
      if (variant === OC.state.variant) return;
      OC.state.variant = variant;
      if (this.layers.offline) this.layers.offline.render();
      OC.emit('variant', variant);
    },
  };
})();
