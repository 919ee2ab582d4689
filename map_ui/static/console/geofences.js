/*
 * Geofence alerts on the big screen (围栏告警): every open episode as a red marker at
 * its vehicle with the rule in Chinese (闯入禁区 / 偏离路线 / 离开巡河区 / 夜间禁捕区),
 * and a short list under the fleet figures: vehicle, zone, since when. The initial
 * state is read from /api/live/geofences; live.js's `geofence` frames keep it current
 * (an opened episode → read again, for the zone's name and the vehicle; a closed one →
 * removed at once, and never brought back by a read already on its way); markers follow
 * their vehicle's live fixes; a stream (re)connect or resync reads again.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const SHOWN = 8; // list rows at most; the rest counted

  const STYLE = `
.oc-geofence { background: none; border: none; }
.oc-geofence span { display: inline-block; white-space: nowrap; transform: translate(-50%, -130%);
  background: #c0392b; color: #fff; border: 2px solid #fff; border-radius: 0.4em;
  padding: 0.1em 0.45em; font-size: 0.85rem; font-weight: bold; box-shadow: 0 0 8px #e74c3c; }
#oc-geofence-list { list-style: none; margin: 0 0 0.5em; padding: 0; font-size: 0.85rem; }
#oc-geofence-list li { cursor: pointer; padding: 1px 0; border-bottom: 1px solid rgba(255,255,255,0.08); }
#oc-geofence-list li b { color: #ff6b5b; margin-right: 0.4em; }
#oc-geofence-list li.oc-empty { cursor: default; opacity: 0.6; }
#oc-geofence-count { color: #ff6b5b; }`;

  const geofences = {
    alerts: new Map(), // id → alert (the route's fields)
    markers: new Map(), // id → L.marker
    closed: new Set(), // ids the stream closed: a read started before must not bring them back
    loads: 0,
    init(map) {
      this.map = map;
      this.layer = L.layerGroup().addTo(map);
      this._panel();
      OC.on('live:geofence', (body) => this.apply(body));
      OC.on('live:resync', () => this.load().catch((e) => OC.reportError('geofences', e)));
      OC.on('vehicles', (data) => this.follow(data));
      OC.on('variant', () => this.render());
      this.load().catch((e) => OC.reportError('geofences', e));
    },
    url() {
      return new URL(OC.state.cfg.live.url.replace(/\/$/, '') + '/geofences', window.location.origin);
    },
    async load() {
      const res = await fetch(this.url(), { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      this.loads += 1;
      this.alerts = new Map(body.alerts.filter((a) => !this.closed.has(a.id)).map((a) => [a.id, a]));
      this.render();
    },
    /** A `geofence` frame: {alerts: [{change: opened|closed, id, rule, vehicle, zone, …}]}. */
    apply(body) {
      let opened = false;
      (body.alerts || []).forEach((a) => {
        if (a.change === 'closed') {
          this.closed.add(a.id);
          this.alerts.delete(a.id);
        } else {
          opened = true;
        }
      });
      this.render();
      if (opened) {
        clearTimeout(this._reload);
        this._reload = setTimeout(() => this.load().catch((e) => OC.reportError('geofences', e)), 200);
      }
    },
    /** Markers move with their vehicle's fixes. */
    follow(data) {
      if (!this.alerts.size) return;
      const codes = new Set([...this.alerts.values()].map((a) => a.vehicle));
      let moved = false;
      data.forEach((v) => {
        if (!codes.has(v.code) || v.lon === undefined || v.lon === null) return;
        this.alerts.forEach((a) => {
          if (a.vehicle === v.code && (a.lon !== v.lon || a.lat !== v.lat)) {
            a.lon = v.lon;
            a.lat = v.lat;
            moved = true;
          }
        });
      });
      if (moved) this.render();
    },
    render() {
      this.markers.forEach((m, id) => {
        if (!this.alerts.has(id)) {
          this.layer.removeLayer(m);
          this.markers.delete(id);
        }
      });
      const list = [...this.alerts.values()].sort((a, b) => b.started - a.started);
      list.forEach((a) => {
        if (a.lon === null || a.lat === null) return;
        const ll = OC.toLatLng(a.lon, a.lat);
        let m = this.markers.get(a.id);
        if (!m) {
          m = L.marker(ll, {
            icon: L.divIcon({ className: 'oc-geofence', html: `<span>⚠ ${OC.esc(a.label)}</span>`, iconSize: null }),
            zIndexOffset: 2000,
            keyboard: false,
          });
          m.on('add', () => { const el = m.getElement(); if (el) el.dataset.alert = String(a.id); });
          m.bindTooltip(this._describe(a));
          this.layer.addLayer(m);
          this.markers.set(a.id, m);
        } else {
          m.setLatLng(ll);
        }
      });
      this._list(list);
    },
    _describe(a) {
      const zone = a.zone_name || a.zone || '';
      return `<b>${OC.esc(a.label)}</b> ${OC.esc(a.plate || a.vehicle)}`
        + (zone ? ` · ${OC.esc(zone)}` : '') + `<br>自 ${OC.esc(OC.fmtTime(a.started))}`;
    },
    _panel() {
      if (!document.getElementById('oc-geofence-style')) {
        const style = document.createElement('style');
        style.id = 'oc-geofence-style';
        style.textContent = STYLE;
        document.head.appendChild(style);
      }
      const fleet = document.getElementById('oc-fleet-table');
      if (!fleet || document.getElementById('oc-geofence-list')) return;
      fleet.insertAdjacentHTML('afterend',
        '<h3>围栏告警 <span class="oc-en">Geofence alerts</span> <b id="oc-geofence-count">0</b></h3>'
        + '<ul id="oc-geofence-list"></ul>');
      document.getElementById('oc-geofence-list').addEventListener('click', (e) => {
        const li = e.target.closest('li[data-id]');
        const a = li && this.alerts.get(Number(li.dataset.id));
        if (a && a.lon !== null) this.map.setView(OC.toLatLng(a.lon, a.lat), Math.max(this.map.getZoom(), 15));
      });
    },
    _list(list) {
      const ul = document.getElementById('oc-geofence-list');
      const count = document.getElementById('oc-geofence-count');
      if (count) count.textContent = String(list.length);
      if (!ul) return;
      const since = (t) => OC.fmtTime(t).slice(-8);
      ul.innerHTML = list.length
        ? list.slice(0, SHOWN).map((a) =>
          `<li data-id="${a.id}" data-rule="${OC.esc(a.rule)}"><b>${OC.esc(a.label)}</b>`
          + `${OC.esc(a.plate || a.vehicle)} · ${OC.esc(a.zone_name || a.zone || '—')} · 自 ${OC.esc(since(a.started))}</li>`).join('')
          + (list.length > SHOWN ? `<li class="oc-empty">另有 ${list.length - SHOWN} 条 more</li>` : '')
        : '<li class="oc-empty">无 None</li>';
    },
    state() {
      return { open: this.alerts.size, ids: [...this.alerts.keys()], markers: this.markers.size, loads: this.loads };
    },
  };
  OC.geofences = geofences;
})();
