/*
 * Fleet figures: online and offline vehicles by kind, recounted whenever the
 * vehicles change and every 15 s on the local clock (a silent vehicle turns
 * offline without any request); grid workers on duty as one more row when shown.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  const fleet = {
    counts: {},
    init() {
      OC.on('vehicles', () => this.update());
      OC.on('workers', () => this.update());
      setInterval(() => { this.update(); if (OC.vehicles.data.length) OC.vehicles.render(); }, 15000);
    },
    update() {
      const now = Date.now();
      const counts = {};
      OC.vehicles.data.forEach((v) => {
        const c = (counts[v.kind] = counts[v.kind] || { online: 0, offline: 0 });
        c[OC.vehicles.offline(v, now) ? 'offline' : 'online'] += 1;
      });
      this.counts = counts;
      const body = document.querySelector('#oc-fleet-table tbody');
      if (!body) return;
      const w = OC.workers && OC.workers.enabled ? OC.workers.counts(now) : null;
      this.workers = w;
      body.innerHTML = Object.keys(counts).sort().map((k) =>
        `<tr><td>${OC.esc(OC.valueLabel('vehicles', 'kind', k))}</td><td>${counts[k].online}</td><td>${counts[k].offline}</td></tr>`).join('')
        + (w ? `<tr data-row="workers"><td>在岗网格员</td><td>${w.online}</td><td>${w.offline}</td></tr>` : '');
    },
  };
  OC.fleet = fleet;
})();
