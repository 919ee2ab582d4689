/*
 * Track playback: pick a vehicle and a day, the day's track is drawn and a
 * marker replays it in time using the track's M values (epoch seconds of each
 * fix) — slider to scrub, play/pause and speed (×10 … ×1800).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'vehicle_tracks';
  const $ = (id) => document.getElementById(id);

  const tracks = {
    track: null, // {code, plate, points: [[lon, lat, t], ...]}
    t: 0,
    playing: false,
    init(map) {
      this.map = map;
      this.group = L.layerGroup();
      OC.registerLayer(ID, this.group);
      $('oc-track-day').value = OC.todayShanghai();
      $('oc-track-load').addEventListener('click', () => this.load($('oc-track-vehicle').value, $('oc-track-day').value));
      $('oc-track-play').addEventListener('click', () => (this.playing ? this.pause() : this.play()));
      $('oc-track-slider').addEventListener('input', (e) => { this.pause(); this.seek(e.target.value / 1000); });
      OC.on('vehicles', (list) => this._fillVehicles(list));
      OC.on('variant', () => this.track && this.draw());
    },
    _fillVehicles(list) {
      const sel = $('oc-track-vehicle');
      if (sel.options.length > 1) return;
      list.forEach((v) => sel.insertAdjacentHTML('beforeend',
        `<option value="${OC.esc(v.code)}">${OC.esc(v.plate)} · ${OC.esc(OC.valueLabel('vehicles', 'kind', v.kind))}</option>`));
    },
    /** Fetch and draw a vehicle's track of a day; says which days exist when none. */
    async load(vehicle, day) {
      if (!vehicle || !day) { this.info('请选择车辆和日期 Pick a vehicle and a day'); return false; }
      $('oc-track-vehicle').value = vehicle;
      $('oc-track-day').value = day;
      this.pause();
      try {
        this.track = await OC.api(`/tracks/${encodeURIComponent(vehicle)}/${day}`);
      } catch (err) {
        if (err.status !== 404) throw err;
        this.track = null;
        this.group.clearLayers();
        const days = await OC.api(`/tracks/${encodeURIComponent(vehicle)}`);
        this.info(`当日无轨迹 No track that day; 可选 available: ${days.days.slice(0, 5).map((d) => d.day).join(', ') || '—'}`);
        return false;
      }
      if (!this.map.hasLayer(this.group)) this.map.addLayer(this.group);
      this.t = this.track.points[0][2];
      this.draw();
      this.map.fitBounds(this.line.getBounds(), { padding: [40, 40] });
      $('oc-track-play').disabled = false;
      $('oc-track-slider').disabled = false;
      this.info(`${this.track.plate || vehicle} · ${this.track.fix_count} 点 fixes · ${this.track.distance_km ?? '–'} km`);
      return true;
    },
    draw() {
      const colour = OC.layerCfg(ID).style.color;
      const lls = this.track.points.map((p) => OC.toLatLng(p[0], p[1]));
      this.group.clearLayers();
      this.line = L.polyline(lls, { color: colour, weight: 3, opacity: 0.55, interactive: false }).addTo(this.group);
      this.done = L.polyline([], { color: '#ffe066', weight: 4, interactive: false }).addTo(this.group);
      this.marker = L.marker(lls[0], {
        keyboard: false, zIndexOffset: 1000,
        icon: L.divIcon({ className: 'oc-veh oc-track-head', html: '<svg viewBox="0 0 24 24"><circle cx="12" cy="12" r="8" fill="#ffe066" stroke="#0b1420" stroke-width="2"/></svg>', iconSize: L.point(22, 22) }),
      }).addTo(this.group);
      this.seekTime(this.t);
    },
    /** Position at time t (epoch s): binary search the M values, interpolate linearly. */
    positionAt(t) {
      const p = this.track.points;
      if (t <= p[0][2]) return [p[0][0], p[0][1], 0];
      if (t >= p[p.length - 1][2]) return [p[p.length - 1][0], p[p.length - 1][1], p.length - 1];
      let lo = 0, hi = p.length - 1;
      while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (p[mid][2] <= t) lo = mid; else hi = mid; }
      const f = (t - p[lo][2]) / (p[hi][2] - p[lo][2] || 1);
      return [p[lo][0] + f * (p[hi][0] - p[lo][0]), p[lo][1] + f * (p[hi][1] - p[lo][1]), lo];
    },
    seekTime(t) {
      const p = this.track.points;
      const t0 = p[0][2], t1 = p[p.length - 1][2];
      this.t = Math.min(Math.max(t, t0), t1);
      const [lon, lat, i] = this.positionAt(this.t);
      const here = OC.toLatLng(lon, lat);
      this.marker.setLatLng(here);
      this.done.setLatLngs(p.slice(0, i + 1).map((q) => OC.toLatLng(q[0], q[1])).concat([here]));
      $('oc-track-slider').value = Math.round(((this.t - t0) / (t1 - t0 || 1)) * 1000);
      $('oc-track-time').textContent = OC.fmtTime(this.t).slice(-8);
    },
    seek(fraction) {
      const p = this.track.points;
      this.seekTime(p[0][2] + fraction * (p[p.length - 1][2] - p[0][2]));
    },
    play() {
      if (!this.track) return;
      const p = this.track.points;
      if (this.t >= p[p.length - 1][2]) this.t = p[0][2];
      this.playing = true;
      $('oc-track-play').innerHTML = '❚❚ 暂停 <span class="oc-en">Pause</span>';
      let last = performance.now();
      const step = (now) => {
        if (!this.playing) return;
        const speed = Number($('oc-track-speed').value);
        this.seekTime(this.t + ((now - last) / 1000) * speed);
        last = now;
        if (this.t >= p[p.length - 1][2]) { this.pause(); return; }
        this.frame = requestAnimationFrame(step);
      };
      this.frame = requestAnimationFrame(step);
    },
    pause() {
      this.playing = false;
      cancelAnimationFrame(this.frame);
      $('oc-track-play').innerHTML = '▶ 播放 <span class="oc-en">Play</span>';
    },
    info(text) {
      $('oc-track-info').textContent = text;
    },
    state() {
      if (!this.track) return null;
      const ll = this.marker.getLatLng();
      return { code: this.track.code, points: this.track.points.length, t: this.t, playing: this.playing, lat: ll.lat, lng: ll.lng };
    },
  };
  OC.tracks = tracks;
})();
