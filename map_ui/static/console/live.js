/*
 * The live stream (/api/live, server-sent events; EventSource is native): vehicles
 * move as their fixes are committed, without polling. While the stream is open the
 * vehicles' poll timer is off; on `resync` (the server's LISTEN came back) and on
 * every (re)connect the vehicles are read once; while it is down polling resumes.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  const live = {
    connected: false,
    events: 0,
    init() {
      if (!window.EventSource) return;
      const es = (this.source = new EventSource(OC.state.cfg.live.url));
      es.addEventListener('hello', () => {
        this.connected = true;
        this._show();
        clearInterval(OC.vehicles.timer);
        OC.vehicles.load().catch((e) => OC.reportError('vehicles', e));
      });
      es.addEventListener('vehicles', (e) => {
        this.events += 1;
        OC.vehicles.applyFixes(JSON.parse(e.data).fixes);
      });
      es.addEventListener('event', (e) => {
        this.events += 1;
        OC.emit('live:event', JSON.parse(e.data)); // dispatch.js: queues, markers, town figures
      });
      es.addEventListener('resync', () => OC.vehicles.load().catch((e) => OC.reportError('vehicles', e)));
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
      return { connected: this.connected, events: this.events, fixes: OC.vehicles.liveFixes || 0 };
    },
  };
  OC.live = live;
})();
