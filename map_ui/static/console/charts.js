/*
 * The big screen's charts (Apache ECharts, vendored; loaded only once a dispatcher or
 * admin signs in, since /api/dispatch/stats is theirs): the 30-day intake and closure
 * trend, the category breakdown, the town ranking and the on-time rate. Redrawn when
 * dispatch.js sees live event messages (at most every 10 s).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ECHARTS = 'vendor/echarts-5.6.0/echarts.min.js';
  const ROLES = ['dispatcher', 'admin'];
  const TEXT = { color: '#d6e4f5' };

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      if (window.echarts) { resolve(); return; }
      const s = document.createElement('script');
      s.src = src; s.onload = resolve; s.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(s);
    });
  }

  const charts = {
    box: null, drawn: 0, inst: {}, last: 0,
    init() {
      OC.on('auth', (user) => this.toggle(user));
      OC.on('live:event', () => { if (Date.now() - this.last > 10000) this.load().catch((e) => OC.reportError('charts', e)); });
    },
    async toggle(user) {
      const allowed = !!user && ROLES.includes(user.role);
      if (this.box) this.box.hidden = !allowed;
      if (!allowed) return;
      if (!this.box) {
        await loadScript(`${OC.state.cfg.static}/${ECHARTS}`);
        this.box = document.createElement('section');
        this.box.id = 'oc-charts';
        this.box.innerHTML = ['trend', 'category', 'town', 'ontime'].map((k) => `<div class="oc-chart" data-chart="${k}"></div>`).join('');
        document.body.appendChild(this.box);
        this.box.querySelectorAll('[data-chart]').forEach((el) => { this.inst[el.dataset.chart] = window.echarts.init(el, null, { renderer: 'canvas' }); });
      }
      await this.load();
    },
    async stats(by) {
      const r = await OC.auth.send('GET', `/api/dispatch/stats?by=${by}`);
      if (!r.ok) throw new Error((r.body && r.body.description) || `HTTP ${r.status}`);
      return r.body.rows;
    },
    async load() {
      this.last = Date.now();
      const [days, cats, towns] = await Promise.all([this.stats('day'), this.stats('category'), this.stats('town')]);
      const names = {};
      ((OC.panel && OC.panel.data && OC.panel.data.towns) || []).forEach((t) => { names[t.code] = OC.shortName(t.name); });
      days.sort((a, b) => (a.key < b.key ? -1 : 1));
      const axis = { axisLabel: TEXT, axisLine: { lineStyle: { color: '#5b7fa8' } } };
      this.inst.trend.setOption({ title: { text: '近30日受理与办结', textStyle: TEXT }, tooltip: { trigger: 'axis' },
        legend: { right: 0, textStyle: TEXT }, grid: { left: 36, right: 8, top: 30, bottom: 22 },
        xAxis: { type: 'category', data: days.map((d) => d.key.slice(5)), ...axis }, yAxis: { type: 'value', ...axis },
        series: [{ name: '受理', type: 'line', data: days.map((d) => d.received) },
          { name: '结案', type: 'line', data: days.map((d) => d.closed) }] }, true);
      const top = cats.slice(0, 8);
      this.inst.category.setOption({ title: { text: '类别构成', textStyle: TEXT }, tooltip: { trigger: 'item' },
        series: [{ type: 'pie', radius: ['35%', '65%'], top: 20, label: { color: '#d6e4f5', fontSize: 10 },
          data: top.map((c) => ({ name: c.key || '未分类', value: c.received })) }] }, true);
      const rank = towns.filter((t) => t.key).sort((a, b) => b.received - a.received).slice(0, 10).reverse();
      this.inst.town.setOption({ title: { text: '镇街受理排名', textStyle: TEXT }, tooltip: {},
        grid: { left: 64, right: 8, top: 26, bottom: 18 }, xAxis: { type: 'value', ...axis },
        yAxis: { type: 'category', data: rank.map((t) => names[t.key] || t.key), ...axis },
        series: [{ type: 'bar', data: rank.map((t) => t.received) }] }, true);
      const closed = towns.reduce((a, t) => a + (t.closed || 0), 0);
      const onTime = towns.reduce((a, t) => a + (t.on_time_rate || 0) * (t.closed || 0), 0);
      const rate = closed ? Math.round((onTime / closed) * 1000) / 10 : 0;
      this.inst.ontime.setOption({ title: { text: '按期办结率', textStyle: TEXT },
        series: [{ type: 'gauge', min: 0, max: 100, radius: '80%', center: ['50%', '60%'],
          detail: { formatter: '{value}%', color: '#d6e4f5', fontSize: 16 }, axisLabel: { color: '#d6e4f5', fontSize: 8 },
          data: [{ value: rate }] }] }, true);
      this.drawn += 1;
      this.summary = { days: days.length, categories: top.length, towns: rank.length, onTimeRate: rate };
    },
    state() { return { visible: !!this.box && !this.box.hidden, drawn: this.drawn, summary: this.summary || null }; },
  };
  OC.charts = charts;
})();
