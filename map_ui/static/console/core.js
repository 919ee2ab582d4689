/*
 * Shared helpers of the console: events between modules, HTTP, coordinates,
 * labels and popups. Every module reads colours and labels from the config the
 * server derived from the layer registry — none are hard-coded here.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  OC.state = { cfg: null, map: null, variant: 'wgs84' };
  OC.errors = [];

  const listeners = {};
  OC.on = function (name, fn) {
    (listeners[name] = listeners[name] || []).push(fn);
  };
  OC.emit = function (name, ...args) {
    (listeners[name] || []).forEach((fn) => fn(...args));
  };

  OC.reportError = function (where, err) {
    const msg = `${where}: ${err && err.message ? err.message : err}`;
    OC.errors.push(msg);
    const box = document.getElementById('oc-toast');
    if (box) {
      box.textContent = '加载失败 Load failed — ' + msg;
      box.hidden = false;
      setTimeout(() => (box.hidden = true), 6000);
    }
  };

  /** The JSON body of a response, or an Error carrying onemap's error description. */
  async function jsonOrThrow(res) {
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const err = new Error((body && body.description) || `HTTP ${res.status}`);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  /** A console API URL, asked for the district in view (districts.js; none: the city). */
  function apiUrl(path) {
    const url = new URL(OC.state.cfg.api + path, window.location.origin);
    if (OC.state.district) url.searchParams.set('district', OC.state.district);
    return url;
  }

  /** GET a JSON document from the console API (same origin); `cache`: the fetch cache mode. */
  OC.api = async function (path, params, cache) {
    const url = apiUrl(path);
    Object.entries(params || {}).forEach(([k, v]) => {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    });
    return jsonOrThrow(await fetch(url, { headers: { Accept: 'application/json' }, cache: cache || 'default' }));
  };

  /**
   * GET a layer document unless it is still `etag`: resolves to {body, etag}, or
   * to null when the server answers 304 (the screen already shows it).
   */
  OC.apiFresh = async function (path, etag) {
    const url = apiUrl(path);
    const headers = { Accept: 'application/json' };
    if (etag) headers['If-None-Match'] = etag;
    const res = await fetch(url, { headers, cache: 'no-store' });
    if (res.status === 304) return null;
    return { body: await jsonOrThrow(res), etag: res.headers.get('ETag') };
  };

  /** Show a marker of a (possibly hidden) layer group: zoom to at least `minZoom`, open its popup. */
  OC.openMarker = function (map, group, marker, minZoom) {
    if (!marker) return false;
    if (!map.hasLayer(group)) map.addLayer(group);
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), minZoom));
    marker.openPopup();
    return true;
  };

  /** Storage (WGS84) → map coordinates: shifted to GCJ-02 on a GCJ-02 basemap. */
  OC.toLatLng = function (lon, lat) {
    if (OC.state.variant === 'gcj02') {
      const g = OC.gcj02.wgsToGcj(lon, lat);
      return L.latLng(g[1], g[0]);
    }
    return L.latLng(lat, lon);
  };
  /** Map coordinates → storage [lon, lat] (WGS84). */
  OC.fromLatLng = function (latlng) {
    if (OC.state.variant === 'gcj02') return OC.gcj02.gcjToWgs(latlng.lng, latlng.lat);
    return [latlng.lng, latlng.lat];
  };
  OC.coordsToLatLng = (c) => OC.toLatLng(c[0], c[1]);

  /** Compact {fields, rows} → array of objects. */
  OC.rows = function (doc) {
    const f = doc.fields;
    return doc.rows.map((r) => {
      const o = {};
      for (let i = 0; i < f.length; i++) o[f[i]] = r[i];
      return o;
    });
  };

  OC.esc = function (v) {
    if (v === null || v === undefined) return '';
    return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  };

  const timeFmt = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
  /** ISO 8601 or epoch seconds → "2024/06/10 08:30:00" in Asia/Shanghai. */
  OC.fmtTime = function (v) {
    if (v === null || v === undefined || v === '') return '';
    const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
    return isNaN(d) ? String(v) : timeFmt.format(d);
  };
  OC.fmtDistance = (m) => (m >= 1000 ? (m / 1000).toFixed(2) + ' km' : Math.round(m) + ' m');
  OC.todayShanghai = function () {
    return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  };

  OC.layerCfg = (id) => OC.state.cfg.layers[id];
  /** Chinese label of a coded value (vocab), falling back to the code. */
  OC.valueLabel = function (layerId, prop, value) {
    const v = OC.layerCfg(layerId).values[prop];
    return (v && v[value]) || value;
  };
  /** Colour of a feature from its layer style: palette by property, else the base colour. */
  OC.colorOf = function (layerId, props) {
    const s = OC.layerCfg(layerId).style;
    return (s.by_property && s.palette[props[s.by_property]]) || s.color;
  };
  /** Legend entries [colour, 中文 label] of a layer's palette. */
  OC.legend = function (layerId) {
    const s = OC.layerCfg(layerId).style;
    if (!s.by_property) return [[s.color, OC.layerCfg(layerId).title_zh]];
    return Object.entries(s.palette).map(([code, colour]) => [colour, OC.valueLabel(layerId, s.by_property, code)]);
  };

  /** A popup body: heading plus "中文 English: value" rows for the named properties. */
  OC.popup = function (layerId, heading, obj, names, extraHtml) {
    const cfg = OC.layerCfg(layerId);
    const rows = names
      .filter((n) => obj[n] !== null && obj[n] !== undefined && obj[n] !== '')
      .map((n) => {
        const t = cfg.props[n] || [n, ''];
        let v = obj[n];
        if (cfg.values[n]) v = OC.valueLabel(layerId, n, v);
        else if (/_at$|^valid_/.test(n)) v = OC.fmtTime(v);
        return `<tr><th>${OC.esc(t[0])} <span class="oc-en">${OC.esc(t[1])}</span></th><td>${OC.esc(v)}</td></tr>`;
      })
      .join('');
    return `<div class="oc-popup"><h4>${heading}</h4><table>${rows}</table>${extraHtml || ''}</div>`;
  };

  /** "南通市海门区三厂工业园区" → "三厂工业园区": the district prefix is noise on the district's own map. */
  OC.shortName = (name) => String(name || '').replace(/^(江苏省)?(南通市)?(海门区|海门市)?/, '') || name;

  OC.titleHtml = (zh, en) => `${OC.esc(zh)} <span class="oc-en">${OC.esc(en)}</span>`;

  /** Resolve after the browser has painted twice (canvas renderers draw on the next frame). */
  OC.painted = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
})();
