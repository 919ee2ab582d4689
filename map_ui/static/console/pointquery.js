/*
 * Point query: click anywhere → the town and current grid there, its worker,
 * and the five nearest cameras and vehicles with distances (PostGIS KNN,
 * geography distances). Coordinates are sent in WGS84 whatever the basemap.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  function listHtml(title, items, fmt) {
    if (!items.length) return '';
    return `<h5>${title}</h5><ol class="oc-near">${items.map(fmt).join('')}</ol>`;
  }

  function html(doc) {
    const town = doc.town ? `${OC.esc(doc.town.name)} <span class="oc-en">${OC.esc(doc.town.code)}</span>` : '区外 Outside the district';
    const grid = doc.grid ? OC.areas.gridPopupHtml(doc.grid) : `<p class="oc-muted">${OC.titleHtml('不在任何网格内', 'Not in a grid')}</p>`;
    const cams = listHtml(OC.titleHtml('最近视频', 'Nearest cameras'), doc.cameras, (c) =>
      `<li><span class="oc-dot" style="background:${OC.colorOf('cameras', c)}"></span>${OC.esc(c.name)} · ${OC.esc(OC.valueLabel('cameras', 'status', c.status))} · <b>${OC.fmtDistance(c.distance_m)}</b>` +
      (c.stream_url ? ` <a href="${OC.esc(c.stream_url)}" target="_blank" rel="noopener">▶</a>` : '') + '</li>');
    const vehs = listHtml(OC.titleHtml('最近车辆', 'Nearest vehicles'), doc.vehicles, (v) =>
      `<li><span class="oc-dot" style="background:${OC.colorOf('vehicles', v)}"></span>${OC.esc(v.plate)} · ${OC.esc(OC.valueLabel('vehicles', 'kind', v.kind))} · <b>${OC.fmtDistance(v.distance_m)}</b></li>`);
    return `<div class="oc-popup oc-point"><h4>${OC.titleHtml('位置查询', 'Point query')}</h4>` +
      `<p class="oc-muted">${doc.lon.toFixed(6)}, ${doc.lat.toFixed(6)} · ${town}</p>${grid}${cams}${vehs}</div>`;
  }

  const pointQuery = {
    last: null,
    init(map) {
      this.map = map;
      map.on('click', (e) => {
        if (OC.editing && OC.editing.capturesClicks()) return; // selecting or drawing grids
        if (OC.mvtClick && OC.mvtClick(e)) return; // a camera or a case (vector tiles) was hit
        const [lon, lat] = OC.fromLatLng(e.latlng);
        this.run(lon, lat).catch((err) => OC.reportError('point query', err));
      });
    },
    async run(lon, lat) {
      const ll = OC.toLatLng(lon, lat);
      const popup = L.popup({ maxWidth: 520, className: 'oc-point-popup' }).setLatLng(ll)
        .setContent(`<div class="oc-popup">${OC.titleHtml('查询中…', 'Querying…')}</div>`).openOn(this.map);
      const doc = await OC.api('/point', { lon: lon.toFixed(7), lat: lat.toFixed(7) });
      this.last = doc;
      popup.setContent(html(doc));
      return doc;
    },
  };
  OC.pointQuery = pointQuery;
})();
