/*
 * Grid workers on duty (可视化调度): each worker's latest phone position as a person
 * marker, greyed after `offline_after_s` of silence (on the local clock), gone at 下岗.
 * Staff whereabouts: shown only to a signed-in dispatcher (or higher) — the server
 * sends `workers` frames on /api/live only to such a client, so signing in reopens
 * the stream (live.reconnect) and the list is read once from /api/duty/workers.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ROLES = ['dispatcher', 'gis_editor', 'admin'];

  function iconHtml() {
    return '<svg viewBox="0 0 24 24"><circle cx="12" cy="7" r="4.2" fill="#ffb300" stroke="#0b1420" stroke-width="1.5"/>' +
      '<path d="M4 22 C4 15 8 12.5 12 12.5 C16 12.5 20 15 20 22 Z" fill="#ffb300" stroke="#0b1420" stroke-width="1.5"/></svg>';
  }

  const workers = {
    enabled: false,
    data: {}, // username -> {username, name, lon, lat, accuracy_m, epoch}
    markers: {},
    offlineAfterS: 300,
    liveReports: 0,
    init(map) {
      this.map = map;
      this.group = L.layerGroup();
      OC.on('auth', (user) => this.toggle(user));
      OC.on('variant', () => this.render());
      setInterval(() => this.render(), 15000); // silence turns a worker grey without a request
    },
    toggle(user) {
      const may = !!user && ROLES.includes(user.role);
      if (may === this.enabled) return;
      this.enabled = may;
      if (may) this.map.addLayer(this.group);
      else { this.map.removeLayer(this.group); this.data = {}; this.render(); }
      if (OC.live) OC.live.reconnect();
    },
    async load() {
      if (!this.enabled) return;
      const res = await fetch('/api/duty/workers', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      const body = await res.json();
      this.offlineAfterS = body.offline_after_s;
      this.data = {};
      body.workers.forEach((w) => { this.data[w.username] = w; });
      this.render();
    },
    /** A `workers` frame: {workers: [[username, name, lon, lat, accuracy_m, epoch]]} | {on} | {off}. */
    apply(msg) {
      if (!this.enabled) return;
      (msg.workers || []).forEach(([username, name, lon, lat, accuracy, epoch]) => {
        const w = this.data[username];
        if (w && w.epoch && w.epoch >= epoch) return;
        this.data[username] = Object.assign(w || {}, { username, name, lon, lat, accuracy_m: accuracy, epoch });
        this.liveReports += 1;
      });
      if (msg.on) this.data[msg.on[0]] = this.data[msg.on[0]] || { username: msg.on[0], name: msg.on[1], epoch: null };
      if (msg.off) msg.off.forEach((u) => delete this.data[u]);
      this.render();
    },
    offline(w, now) {
      return !w.epoch || (now || Date.now()) - w.epoch * 1000 > this.offlineAfterS * 1000;
    },
    popupHtml(w) {
      const at = w.epoch ? new Date(w.epoch * 1000).toLocaleTimeString('zh-CN', { hour12: false }) : '—';
      return `<div class="oc-popup"><h4>${OC.esc(w.name)} <span class="oc-en">${OC.esc(w.username)}</span></h4>` +
        `<table><tr><th>状态</th><td>${this.offline(w) ? '离线 Offline' : '在岗 On duty'}</td></tr>` +
        `<tr><th>上报</th><td>${OC.esc(at)}</td></tr>` +
        `<tr><th>精度</th><td>${w.accuracy_m == null ? '—' : Math.round(w.accuracy_m) + ' m'}</td></tr></table></div>`;
    },
    render() {
      const now = Date.now();
      Object.values(this.data).forEach((w) => {
        if (w.lon == null) return; // on duty, no position yet
        let m = this.markers[w.username];
        const ll = OC.toLatLng(w.lon, w.lat);
        if (!m) {
          m = this.markers[w.username] = L.marker(ll, {
            keyboard: false, title: w.name,
            icon: L.divIcon({ className: 'oc-worker', html: iconHtml(), iconSize: L.point(20, 20) }),
          });
          m.bindPopup(() => this.popupHtml(m.options.worker));
          this.group.addLayer(m);
        } else m.setLatLng(ll);
        m.options.worker = w;
        const el = m.getElement();
        if (el) el.classList.toggle('oc-worker-offline', this.offline(w, now));
      });
      Object.keys(this.markers).forEach((u) => {
        if (!this.data[u] || this.data[u].lon == null) { this.group.removeLayer(this.markers[u]); delete this.markers[u]; }
      });
      OC.emit('workers', this.data);
    },
    counts(now) {
      const c = { online: 0, offline: 0 };
      Object.values(this.data).forEach((w) => { c[this.offline(w, now) ? 'offline' : 'online'] += 1; });
      return c;
    },
  };
  OC.workers = workers;
})();
