/*
 * Grouped layer control with legend: basemaps as radio buttons, overlays as
 * checkboxes grouped the way a command centre thinks (administration, video,
 * fleet, rivers, cases), each with its colour legend and optional filters.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  OC.layers = {}; // id -> {layer: L.Layer, extra: HTMLElement|null}

  /** A module registers its Leaflet layer (and optional filter UI) under a registry id. */
  OC.registerLayer = function (id, layer, extra) {
    OC.layers[id] = { layer, extra: extra || null };
  };

  OC.GroupedControl = L.Control.extend({
    options: { position: 'topleft' },

    onAdd: function (map) {
      const cfg = OC.state.cfg;
      const box = L.DomUtil.create('div', 'oc-control leaflet-bar');
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      const head = L.DomUtil.create('button', 'oc-control-toggle', box);
      head.type = 'button';
      head.innerHTML = OC.titleHtml('图层', 'Layers');
      const body = L.DomUtil.create('div', 'oc-control-body', box);
      head.addEventListener('click', () => box.classList.toggle('oc-collapsed'));

      const base = L.DomUtil.create('section', 'oc-group', body);
      base.innerHTML = `<h4>${OC.titleHtml('底图', 'Basemap')}</h4>`;
      cfg.basemaps.forEach((bm, i) => {
        const label = L.DomUtil.create('label', 'oc-row', base);
        label.innerHTML = `<input type="radio" name="oc-basemap" value="${OC.esc(bm.id)}" ${i === 0 ? 'checked' : ''}> ${OC.esc(bm.name)}` +
          (bm.crs_variant === 'gcj02' ? ' <span class="oc-tag">GCJ-02</span>' : '');
        label.querySelector('input').addEventListener('change', () => OC.basemap.select(bm.id));
      });

      // Checkboxes follow the map (layers are added after the control, and by search).
      map.on('layeradd layerremove', () => {
        box.querySelectorAll('input[data-layer]').forEach((i) => (i.checked = map.hasLayer(OC.layers[i.dataset.layer].layer)));
      });
      cfg.groups.forEach((g) => {
        const sec = L.DomUtil.create('section', 'oc-group', body);
        sec.innerHTML = `<h4>${OC.titleHtml(g.title_zh, g.title_en)}</h4>`;
        g.layers.forEach((id) => this._row(sec, map, id));
      });
      return box;
    },

    _row: function (sec, map, id) {
      const entry = OC.layers[id];
      if (!entry) return;
      const lc = OC.layerCfg(id);
      const row = L.DomUtil.create('div', 'oc-layer', sec);
      const label = L.DomUtil.create('label', 'oc-row', row);
      const on = map.hasLayer(entry.layer);
      label.innerHTML = `<input type="checkbox" data-layer="${id}" ${on ? 'checked' : ''}> ${OC.titleHtml(lc.title_zh, lc.title_en)}`;
      label.querySelector('input').addEventListener('change', (e) => {
        if (e.target.checked) map.addLayer(entry.layer);
        else map.removeLayer(entry.layer);
      });
      if (id !== 'events_heat') {
        const legend = L.DomUtil.create('div', 'oc-legend', row);
        legend.innerHTML = OC.legend(id)
          .map(([c, t]) => `<span><i style="background:${OC.esc(c)}"></i>${OC.esc(t)}</span>`)
          .join('');
      }
      if (entry.extra) row.appendChild(entry.extra);
    },
  });
})();
