/*
 * The live stream (/api/live, server-sent events; EventSource is native): vehicles
 * move as their fixes are committed, without polling. While the stream is open the
 * vehicles' poll timer is off; on `resync` (the server's LISTEN came back) and on
 * every (re)connect the vehicles are read once; while it is down polling resumes.
 * `workers` frames (grid workers on duty) come only to a signed-in dispatcher, so
 * workers.js reopens the stream on sign-in and sign-out (`reconnect`).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  const live = {
    connected: false,
    events: 0,
    workers: false, // this connection carries `workers` frames (the server said so in `hello`)
    init() {
      if (!window.EventSource) return;
      this._open();
    },
    reconnect() {
      if (!this.source) return;
      this.source.close();
      this.connected = false;
      this._open();
    },
    _open() {
      const es = (this.source = new EventSource(OC.state.cfg.live.url));
      es.addEventListener('hello', (e) => {
        this.connected = true;
        this.workers = !!JSON.parse(e.data).workers;
        this._show();
        clearInterval(OC.vehicles.timer);
        OC.vehicles.load().catch((err) => OC.reportError('vehicles', err));
        if (OC.workers) OC.workers.load().catch((err) => OC.reportError('workers', err));
        OC.emit('live:resync'); // geofences.js reads its open episodes again
      });
      es.addEventListener('workers', (e) => {
        this.events += 1;
        if (OC.workers) OC.workers.apply(JSON.parse(e.data));
      });
      es.addEventListener('vehicles', (e) => {
        this.events += 1;
        OC.vehicles.applyFixes(JSON.parse(e.data).fixes);
      });
      es.addEventListener('event', (e) => {
        this.events += 1;
        OC.emit('live:event', JSON.parse(e.data)); // dispatch.js: queues, markers, town figures
      });
      es.addEventListener('geofence', (e) => {
        this.events += 1;
        OC.emit('live:geofence', JSON.parse(e.data)); // geofences.js: markers and list
      });
      es.addEventListener('resync', () => {
        OC.emit('live:resync');
        OC.vehicles.load().catch((e) => OC.reportError('vehicles', e));
        if (OC.workers) OC.workers.load().catch((e) => OC.reportError('workers', e));
      });
      es.onerror = () => {
        if (!this.connected) return;
        this.connected = false; // EventSource reconnects by itself; poll meanwhile
        this._show();
        OC.vehicles._schedule();
      };
    },
    _show() {
      const dot = document.getElementById('oc-live-state');
      if (dot) dot.classList.toggle('oc-on', this.connected);
    },
    state() {
      return { connected: this.connected, events: this.events, fixes: OC.vehicles.liveFixes || 0, workers: this.workers };
    },
  };
  OC.live = live;
})();
