/*
 * Cases (事件工单): canvas circle markers filled by status (dispatch loop
 * 受理→派发→处置→复核→办结) with a ring by category, plus a heatmap view
 * (Leaflet.heat) of the same selection. Loaded lazily by filter: the default
 * view is every open case, not 300,000 rows.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'events';
  // Categories are free text (no vocab): ring colours are assigned in frequency order.
  const RING = ['#ffffff', '#00e5ff', '#ff4081', '#b2ff59', '#ffab40', '#ea80fc', '#84ffff', '#ffd740', '#8c9eff', '#a7ffeb'];
  const WINDOWS = [
    ['all', '不限时间', 'Any time'], ['today', '今日', 'Today'], ['24h', '近24小时', '24 h'],
    ['7d', '近7天', '7 days'], ['30d', '近30天', '30 days'],
  ];

  function popupHtml(e) {
    return OC.popup(ID, `${OC.esc(e.title)} <span class="oc-en">${OC.esc(e.code)}</span>`, e,
      ['code', 'category', 'status', 'priority', 'grid_code', 'created_at', 'due_at']);
  }

  const events = {
    data: [],
    total: 0,
    markers: {},
    categories: [],
    filter: { status: ['accepted', 'dispatched', 'handling', 'reviewing'], category: '', window: 'all' },
    init(map) {
      this.map = map;
      this.group = L.featureGroup();
      this.heat = L.heatLayer([], { radius: 16, blur: 14, maxZoom: 15, minOpacity: 0.35 });
      OC.registerLayer(ID, this.group, this._filterUi());
      OC.registerLayer('events_heat', this.heat);
      this.heat.on('add', () => this.heat.setLatLngs(this._heatPoints()));
      OC.on('variant', () => this.render());
      this.group.on('add', () => this._schedule());
      map.on('zoomend', () => this._resize());
      this.group.on('remove', () => clearInterval(this.timer));
    },
    _schedule() {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.load().catch((e) => OC.reportError('events', e)), OC.state.cfg.refresh_ms.events);
    },
    _filterUi() {
      const statuses = OC.layerCfg(ID).values.status;
      const box = L.DomUtil.create('div', 'oc-filters');
      box.innerHTML =
        `<div class="oc-filter-row">${Object.entries(statuses).map(([code, zh]) =>
          `<label><input type="checkbox" name="oc-ev-status" value="${code}" ${this.filter.status.includes(code) ? 'checked' : ''}>${OC.esc(zh)}</label>`).join('')}</div>` +
        `<div class="oc-filter-row"><select name="oc-ev-category" title="大类 Category"><option value="">全部大类 All categories</option></select>` +
        `<select name="oc-ev-window" title="受理时间 Created">${WINDOWS.map(([v, zh, en]) => `<option value="${v}">${zh} ${en}</option>`).join('')}</select></div>` +
        `<div class="oc-muted" data-ev-count></div>`;
      box.addEventListener('change', () => {
        this.filter.status = [...box.querySelectorAll('[name=oc-ev-status]:checked')].map((i) => i.value);
        this.filter.category = box.querySelector('[name=oc-ev-category]').value;
        this.filter.window = box.querySelector('[name=oc-ev-window]').value;
        this.load().catch((e) => OC.reportError('events', e));
      });
      this.ui = box;
      OC.api('/events/categories').then((doc) => {
        this.categories = doc.categories.map((c) => c.name);
        const sel = box.querySelector('[name=oc-ev-category]');
        doc.categories.forEach((c) => sel.insertAdjacentHTML('beforeend', `<option value="${OC.esc(c.name)}">${OC.esc(c.name)} (${c.count})</option>`));
        if (this.data.length) this.render();
      }).catch((e) => OC.reportError('categories', e));
      return box;
    },
    setFilter(f) {
      Object.assign(this.filter, f);
      return this.load();
    },
    load() {
      if (!this.filter.status.length) {
        this.data = []; this.total = 0; this.render(); return Promise.resolve();
      }
      const params = { status: this.filter.status.join(','), category: this.filter.category, window: this.filter.window };
      return OC.api('/events', params).then((doc) => {
        this.data = OC.rows(doc);
        this.total = doc.total;
        this.render();
      });
    },
    /** Smaller dots when the whole district is in view, so 10,000 open cases stay readable. */
    radius() {
      const z = this.map.getZoom();
      return OC.layerCfg(ID).style.radius * (z < 12 ? 0.55 : z < 14 ? 0.8 : 1.1);
    },
    _resize() {
      const r = this.radius();
      this.group.eachLayer((m) => m.setRadius(m.options.factor * r));
    },
    ringColour(category) {
      const i = this.categories.indexOf(category);
      return i < 0 ? '#cfd8dc' : RING[i % RING.length];
    },
    render() {
      this.group.clearLayers();
      this.markers = {};
      const r = this.radius();
      this.data.forEach((e) => {
        const m = L.circleMarker(OC.toLatLng(e.lon, e.lat), {
          factor: e.priority === 'critical' ? 1.8 : e.priority === 'urgent' ? 1.4 : 1,
          radius: (e.priority === 'critical' ? 1.8 : e.priority === 'urgent' ? 1.4 : 1) * r,
          fillColor: OC.colorOf(ID, e), fillOpacity: 0.9, color: this.ringColour(e.category), weight: 1.2,
          bubblingMouseEvents: false,
        });
        m.bindPopup(() => popupHtml(e));
        this.markers[e.code] = m;
        this.group.addLayer(m);
      });
      if (this.map.hasLayer(this.heat)) this.heat.setLatLngs(this._heatPoints());
      const shown = this.data.length < this.total ? `${this.data.length} / ${this.total}` : `${this.total}`;
      if (this.ui) this.ui.querySelector('[data-ev-count]').textContent = `显示 Shown: ${shown}`;
    },
    _heatPoints() {
      return this.data.map((e) => { const ll = OC.toLatLng(e.lon, e.lat); return [ll.lat, ll.lng, 0.6]; });
    },
    count() {
      return this.group.getLayers().length;
    },
    open(code) {
      return OC.openMarker(this.map, this.group, this.markers[code], 16);
    },
  };
  OC.events = events;
})();
