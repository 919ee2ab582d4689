/*
 * Vehicles and patrol boats at their last GPS fix: an arrow turned to the
 * heading, coloured by kind, moved in place every few seconds (no flicker, an
 * open popup stays open and is refreshed).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'vehicles';

  function arrowHtml(colour, heading) {
    return `<svg viewBox="0 0 24 24" style="transform:rotate(${heading || 0}deg)">` +
      `<path d="M12 2 L20 21 L12 16.5 L4 21 Z" fill="${colour}" stroke="#0b1420" stroke-width="1.5"/></svg>`;
  }

  function popupHtml(v) {
    const obj = Object.assign({}, v, { speed_kmh: v.speed_kmh === null ? '' : `${v.speed_kmh} km/h` });
    const btn = `<p><button type="button" class="oc-button" data-track="${OC.esc(v.code)}">轨迹回放 <span class="oc-en">Track</span></button></p>`;
    return OC.popup(ID, `${OC.esc(v.plate)} <span class="oc-en">${OC.esc(v.code)}</span>`, obj,
      ['plate', 'kind', 'company', 'speed_kmh', 'heading', 'last_fix_at'], btn);
  }

  const vehicles = {
    data: [],
    markers: {},
    refreshes: 0,
    lastRefresh: null,
    timer: null,
    init(map) {
      this.map = map;
      this.group = L.layerGroup();
      OC.registerLayer(ID, this.group);
      this.group.on('add', () => this._schedule());
      this.group.on('remove', () => clearInterval(this.timer));
      OC.on('variant', () => this.data.forEach((v) => this.markers[v.code] && this.markers[v.code].setLatLng(OC.toLatLng(v.lon, v.lat))));
      map.on('popupopen', (e) => {
        const b = e.popup.getElement().querySelector('[data-track]');
        if (b) b.addEventListener('click', () => OC.tracks.load(b.dataset.track, OC.todayShanghai()));
      });
    },
    _schedule() {
      clearInterval(this.timer);
      if (OC.live && OC.live.connected) return; // the live stream moves them
      this.timer = setInterval(() => this.load().catch((e) => OC.reportError('vehicles', e)), OC.state.cfg.refresh_ms.vehicles);
    },
    load() {
      return OC.api('/layers/vehicles').then((doc) => {
        this.data = OC.rows(doc);
        this.refreshes += 1;
        this.lastRefresh = doc.now;
        this.render();
        OC.emit('vehicles', this.data);
      });
    },
    /** Fixes from the live stream: [code, lon, lat, speed, heading, epoch_s], newer only. */
    applyFixes(fixes) {
      const byCode = {};
      this.data.forEach((v) => { byCode[v.code] = v; });
      let moved = 0;
      fixes.forEach(([code, lon, lat, speed, heading, epoch]) => {
        const v = byCode[code];
        const at = new Date(epoch * 1000).toISOString();
        if (!v || (v.last_fix_at && Date.parse(v.last_fix_at) >= epoch * 1000)) return;
        Object.assign(v, { lon, lat, speed_kmh: speed, heading, last_fix_at: at });
        moved += 1;
      });
      this.liveFixes = (this.liveFixes || 0) + moved;
      if (moved) { this.render(); OC.emit('vehicles', this.data); }
      return moved;
    },
    offline(v, now) {
      const limit = OC.state.cfg.live.offline_after_s * 1000;
      return !v.last_fix_at || (now || Date.now()) - Date.parse(v.last_fix_at) > limit;
    },
    render() {
      const seen = {};
      const now = Date.now();
      this.data.forEach((v) => {
        seen[v.code] = true;
        const ll = OC.toLatLng(v.lon, v.lat);
        let m = this.markers[v.code];
        if (!m) {
          m = L.marker(ll, {
            keyboard: false,
            icon: L.divIcon({ className: 'oc-veh', html: arrowHtml(OC.colorOf(ID, v), v.heading), iconSize: L.point(22, 22) }),
          });
          m.bindPopup(() => popupHtml(m.options.vehicle));
          this.markers[v.code] = m;
          this.group.addLayer(m);
        } else {
          m.setLatLng(ll);
          const svg = m.getElement() && m.getElement().querySelector('svg');
          if (svg) svg.style.transform = `rotate(${v.heading || 0}deg)`;
          if (m.isPopupOpen()) m.getPopup().setContent(popupHtml(v));
        }
        m.options.vehicle = v;
        const el = m.getElement();
        if (el) el.classList.toggle('oc-veh-offline', this.offline(v, now));
      });
      Object.keys(this.markers).forEach((code) => {
        if (!seen[code]) { this.group.removeLayer(this.markers[code]); delete this.markers[code]; }
      });
    },
    count() {
      return this.group.getLayers().length;
    },
    open(code) {
      return OC.openMarker(this.map, this.group, this.markers[code], 15);
    },
  };
  OC.vehicles = vehicles;
})();
