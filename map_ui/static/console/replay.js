/*
 * Fleet replay (全局回放): pick a window (default yesterday 14:00–15:00, Asia/Shanghai),
 * and every vehicle and every event of it replays together on the map at 1×…600×,
 * with play/pause and a slider to seek. One request (/api/replay) brings the
 * window's fixes of all vehicles (thinned by the server beyond its bound) and the
 * events created in it. Vehicles are drawn on one canvas; a vehicle is placed by
 * interpolating its two fixes around the replay time (held at the earlier one when
 * they are further apart than the offline limit); an event appears at its time.
 * While the replay is open the live vehicles layer is taken off the map.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const $ = (id) => document.getElementById(id);
  const SPEEDS = [1, 10, 60, 120, 300, 600];
  const DRAW_MS = 100; // redraw at most ten times a second while playing

  function yesterday() {
    const [y, m, d] = OC.todayShanghai().split('-').map(Number);
    const t = new Date(Date.UTC(y, m - 1, d - 1));
    return t.toISOString().slice(0, 10);
  }

  function barHtml() {
    const speeds = SPEEDS.map((s) => `<option value="${s}"${s === 60 ? ' selected' : ''}>×${s}</option>`).join('');
    return `<div id="oc-replay" hidden>
      <span class="oc-track-title">全局回放 <span class="oc-en">Fleet replay</span></span>
      <input id="oc-replay-from" type="datetime-local" step="60" title="开始 From">
      <input id="oc-replay-to" type="datetime-local" step="60" title="结束 To">
      <button id="oc-replay-load" type="button">加载 <span class="oc-en">Load</span></button>
      <button id="oc-replay-play" type="button" disabled>▶ 播放 <span class="oc-en">Play</span></button>
      <select id="oc-replay-speed" title="倍速 Speed">${speeds}</select>
      <input id="oc-replay-slider" type="range" min="0" max="1000" value="0" disabled>
      <span id="oc-replay-time" class="oc-track-time">--:--:--</span>
      <span id="oc-replay-info" class="oc-track-info"></span>
      <button id="oc-replay-close" type="button" title="关闭 Close">✕</button>
    </div>`;
  }

  /** [lon, lat, heading] of a vehicle's fixes at time t, or null before its first fix. */
  function positionAt(fixes, t, maxGap) {
    if (!fixes.length || t < fixes[0][0]) return null;
    const last = fixes[fixes.length - 1];
    if (t >= last[0]) return [last[1], last[2], last[3]];
    let lo = 0, hi = fixes.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (fixes[mid][0] <= t) lo = mid; else hi = mid; }
    const a = fixes[lo], b = fixes[hi];
    if (b[0] - a[0] > maxGap) return [a[1], a[2], a[3]];
    const f = (t - a[0]) / (b[0] - a[0] || 1);
    return [a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3]];
  }

  const replay = {
    data: null,
    t: 0,
    t0: 0,
    t1: 0,
    playing: false,
    markers: {},
    eventMarkers: [],
    init(map) {
      this.map = map;
      this.renderer = L.canvas({ padding: 0.2 });
      this.group = L.layerGroup();
      document.body.insertAdjacentHTML('beforeend', barHtml());
      const day = yesterday();
      $('oc-replay-from').value = `${day}T14:00`;
      $('oc-replay-to').value = `${day}T15:00`;
      const open = $('oc-replay-open');
      if (open) open.addEventListener('click', () => (this.isOpen() ? this.close() : this.open()));
      $('oc-replay-close').addEventListener('click', () => this.close());
      $('oc-replay-load').addEventListener('click', () =>
        this.load($('oc-replay-from').value, $('oc-replay-to').value).catch((e) => OC.reportError('replay', e)));
      $('oc-replay-play').addEventListener('click', () => (this.playing ? this.pause() : this.play()));
      $('oc-replay-slider').addEventListener('input', (e) => { this.pause(); this.seek(e.target.value / 1000); });
      OC.on('variant', () => this.data && this.draw());
    },
    isOpen() {
      return !$('oc-replay').hidden;
    },
    open() {
      $('oc-replay').hidden = false;
      const live = OC.layers.vehicles && OC.layers.vehicles.layer;
      this.liveWasOn = !!(live && this.map.hasLayer(live));
      if (this.liveWasOn) this.map.removeLayer(live);
      this.map.addLayer(this.group);
    },
    close() {
      this.pause();
      $('oc-replay').hidden = true;
      this.map.removeLayer(this.group);
      if (this.liveWasOn) this.map.addLayer(OC.layers.vehicles.layer);
    },
    /** Fetch a window ('YYYY-MM-DDTHH:MM', Asia/Shanghai) and show its start. */
    async load(from, to) {
      if (!this.isOpen()) this.open();
      $('oc-replay-from').value = from.slice(0, 16);
      $('oc-replay-to').value = to.slice(0, 16);
      this.pause();
      this.info('加载中 Loading…');
      const url = new URL(OC.state.cfg.api.replace(/\/console\/?$/, '') + '/replay', window.location.origin);
      url.searchParams.set('from', from);
      url.searchParams.set('to', to);
      const res = await fetch(url, { headers: { Accept: 'application/json' } });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        this.info((body && body.description) || `HTTP ${res.status}`);
        return false;
      }
      this.data = body;
      this.t0 = Date.parse(body.from) / 1000;
      this.t1 = Date.parse(body.to) / 1000;
      this.t = this.t0;
      this.draw();
      $('oc-replay-play').disabled = false;
      $('oc-replay-slider').disabled = false;
      const n = Object.keys(body.vehicles).length;
      const thinned = body.stride > 1 ? ` (每${body.stride}点取1 1 in ${body.stride})` : '';
      this.info(`${n} 辆车 vehicles · ${body.returned_fixes}/${body.total_fixes} 点 fixes${thinned} · ${body.events.length} 事件 events`);
      return true;
    },
    /** (Re)build the markers of the loaded window, then place them at the current time. */
    draw() {
      this.group.clearLayers();
      this.markers = {};
      Object.entries(this.data.vehicles).forEach(([code, v]) => {
        const m = L.circleMarker([0, 0], {
          renderer: this.renderer, radius: 4, weight: 1, color: '#0b1420', fillOpacity: 0.95,
          fillColor: OC.colorOf('vehicles', v), interactive: true,
        });
        m.bindTooltip(`${OC.esc(v.plate || code)}`);
        this.markers[code] = { marker: m, fixes: v.fixes, shown: false };
      });
      this.eventMarkers = this.data.events.map((e) => ({
        e,
        shown: false,
        marker: L.circleMarker(OC.toLatLng(e.lon, e.lat), {
          renderer: this.renderer, radius: 7, weight: 2, color: '#ff5c5c', fillColor: '#ffb3b3', fillOpacity: 0.6,
        }).bindTooltip(`${OC.esc(e.title)} · ${OC.esc(e.code)}`),
      }));
      this.seekTime(this.t);
    },
    seekTime(t) {
      this.t = Math.min(Math.max(t, this.t0), this.t1);
      const gap = OC.state.cfg.live.offline_after_s;
      Object.values(this.markers).forEach((v) => {
        const p = positionAt(v.fixes, this.t, gap);
        if (p) v.marker.setLatLng(OC.toLatLng(p[0], p[1]));
        if (!!p !== v.shown) { v.shown = !!p; if (p) this.group.addLayer(v.marker); else this.group.removeLayer(v.marker); }
      });
      this.eventMarkers.forEach((x) => {
        const on = x.e.t <= this.t;
        if (on !== x.shown) { x.shown = on; if (on) this.group.addLayer(x.marker); else this.group.removeLayer(x.marker); }
      });
      $('oc-replay-slider').value = Math.round(((this.t - this.t0) / (this.t1 - this.t0 || 1)) * 1000);
      $('oc-replay-time').textContent = OC.fmtTime(this.t);
    },
    seek(fraction) {
      this.seekTime(this.t0 + fraction * (this.t1 - this.t0));
    },
    setSpeed(x) {
      $('oc-replay-speed').value = String(x);
    },
    play() {
      if (!this.data) return;
      if (this.t >= this.t1) this.seekTime(this.t0);
      this.playing = true;
      $('oc-replay-play').innerHTML = '❚❚ 暂停 <span class="oc-en">Pause</span>';
      let last = performance.now(), drawn = 0;
      const step = (now) => {
        if (!this.playing) return;
        const t = this.t + ((now - last) / 1000) * Number($('oc-replay-speed').value);
        last = now;
        if (now - drawn >= DRAW_MS || t >= this.t1) { drawn = now; this.seekTime(t); } else this.t = t;
        if (this.t >= this.t1) { this.pause(); return; }
        this.frame = requestAnimationFrame(step);
      };
      this.frame = requestAnimationFrame(step);
    },
    pause() {
      if (this.playing) this.seekTime(this.t); // draw where the clock stopped
      this.playing = false;
      cancelAnimationFrame(this.frame);
      const b = $('oc-replay-play');
      if (b) b.innerHTML = '▶ 播放 <span class="oc-en">Play</span>';
    },
    info(text) {
      $('oc-replay-info').textContent = text;
    },
    /** Where a vehicle's replay marker is now ({lat, lng}), or null when not shown. */
    where(code) {
      const v = this.markers[code];
      return v && v.shown ? v.marker.getLatLng() : null;
    },
    state() {
      if (!this.data) return { open: this.isOpen(), loaded: false };
      return {
        open: this.isOpen(),
        loaded: true,
        t: this.t,
        playing: this.playing,
        vehicles: Object.keys(this.markers).length,
        shown: Object.values(this.markers).filter((v) => v.shown).length,
        events: this.eventMarkers.filter((x) => x.shown).length,
      };
    },
  };
  OC.replay = replay;
})();
