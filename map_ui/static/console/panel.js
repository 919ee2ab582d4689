/*
 * Side panel: today's figures for the district and each town (new today, open,
 * overdue, 30-day closure rate), refreshed by itself. Clicking a town zooms to it.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const pct = (r) => (r === null || r === undefined ? '–' : (r * 100).toFixed(1) + '%');

  const panel = {
    refreshes: 0,
    data: null,
    init() {
      document.querySelector('#oc-town-table tbody').addEventListener('click', (e) => {
        const tr = e.target.closest('tr[data-town]');
        const b = tr && OC.areas.townBounds(tr.dataset.town);
        if (b) OC.state.map.fitBounds(b);
      });
      setInterval(() => this.load().catch((e) => OC.reportError('stats', e)), OC.state.cfg.refresh_ms.stats);
    },
    load() {
      return OC.api('/stats/towns').then((doc) => this.render(doc));
    },
    render(doc) {
      this.data = doc;
      this.refreshes += 1;
      const sum = (k) => doc.towns.reduce((a, t) => a + (t[k] || 0), 0);
      const total30 = sum('total_30d');
      const kpi = { today: sum('today'), open: sum('open'), overdue: sum('overdue'), closure_rate: pct(total30 ? sum('closed_30d') / total30 : null) };
      document.querySelectorAll('[data-kpi]').forEach((el) => (el.textContent = kpi[el.dataset.kpi]));
      document.querySelector('#oc-town-table tbody').innerHTML = doc.towns.map((t) =>
        `<tr data-town="${OC.esc(t.code)}"><td title="${OC.esc(t.name)}">${OC.esc(OC.shortName(t.name))}</td><td>${t.today}</td><td>${t.open}</td>` +
        `<td class="${t.overdue ? 'oc-warn' : ''}">${t.overdue}</td><td>${pct(t.closure_rate)}</td></tr>`).join('');
      document.getElementById('oc-stats-updated').textContent = `更新于 Updated ${OC.fmtTime(doc.generated_at)}`;
    },
  };
  OC.panel = panel;
})();
