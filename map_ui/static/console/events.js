/*
 * Cases (事件工单) from the events' vector tiles (console/mvt.js): dots filled by
 * status (dispatch loop 受理→派发→处置→复核→办结) with a ring by category, sized by
 * priority; clusters of the low zooms coloured by their commonest status. The
 * console's filters (status, category, created window) become the tiles' CQL2
 * `filter` and `datetime`, so the server sends only the selection, tile by tile; the
 * count and the heatmap (Leaflet.heat, off at start-up) read /api/console/events.
 * A change on the live stream (dispatch.js) redraws the tiles in view: each is
 * revalidated, the unchanged ones answer 304.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'events';
  // Categories are free text (no vocab): ring colours are picked by a hash of the name.
  const RING = ['#ffffff', '#00e5ff', '#ff4081', '#b2ff59', '#ffab40', '#ea80fc', '#84ffff', '#ffd740', '#8c9eff', '#a7ffeb'];
  const WINDOWS = [
    ['all', '不限时间', 'Any time'], ['today', '今日', 'Today'], ['24h', '近24小时', '24 h'],
    ['7d', '近7天', '7 days'], ['30d', '近30天', '30 days'],
  ];
  const HOURS = { '24h': 24, '7d': 24 * 7, '30d': 24 * 30 };
  const quote = (v) => `'${String(v).replace(/'/g, "''")}'`;

  function popupHtml(e) {
    return OC.popup(ID, `${OC.esc(e.title)} <span class="oc-en">${OC.esc(e.code)}</span>`, e,
      ['code', 'category', 'status', 'priority', 'grid_code', 'created_at', 'due_at']);
  }

  const events = {
    data: [],
    total: 0,
    categories: [],
    filter: { status: ['accepted', 'dispatched', 'handling', 'reviewing'], category: '', window: 'all' },
    init(map) {
      this.map = map;
      this.tiles = new OC.MvtLayer(map, ID, (p, z) => this._style(p, z), (p, latlng) => this.tiles.popup(p.code, latlng, popupHtml));
      this.tiles.setQuery(this.tileQuery()); // the first tiles asked for are the filtered ones
      this.group = this.tiles.layer;
      this.heat = L.heatLayer([], { radius: 16, blur: 14, maxZoom: 15, minOpacity: 0.35 });
      OC.registerLayer(ID, this.group, this._filterUi());
      OC.registerLayer('events_heat', this.heat);
      this.heat.on('add', () => this._loadHeat().catch((e) => OC.reportError('events', e)));
      OC.on('variant', () => { if (this.map.hasLayer(this.heat)) this.heat.setLatLngs(this._heatPoints()); });
      this.group.on('add', () => this._schedule());
      this.group.on('remove', () => clearInterval(this.timer));
    },
    _schedule() {
      clearInterval(this.timer);
      // redraw only when a case changed (a redraw blanks the tiles until they are back)
      const poll = async () => { if ((await this.tiles.changed()) || this.filter.window !== 'all') await this.load(); };
      this.tiles.changed().catch(() => {});
      this.timer = setInterval(() => poll().catch((e) => OC.reportError('events', e)), OC.state.cfg.refresh_ms.events);
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
      }).catch((e) => OC.reportError('categories', e));
      return box;
    },
    setFilter(f) {
      Object.assign(this.filter, f);
      return this.load();
    },
    /** The statuses asked for, in today's vocabulary (a list naming handling/reviewing is
     * the pre-0007 one, read as the console API reads it). */
    _statuses() {
      const st = this.filter.status;
      if (!st.includes('handling') && !st.includes('reviewing')) return st;
      const legacy = OC.state.cfg.vocab.legacy_event_statuses;
      return st.flatMap((s) => legacy[s] || [s]);
    },
    /** The tiles' query: CQL2 `filter` on status and category, `datetime` for the window. */
    tileQuery() {
      const st = this._statuses();
      const parts = [st.length ? `status IN (${st.map(quote).join(', ')})` : 'status IS NULL'];
      if (this.filter.category) parts.push(`category = ${quote(this.filter.category)}`);
      const q = { filter: parts.join(' AND ') };
      const w = this.filter.window;
      if (w === 'today') q.datetime = `${OC.todayShanghai()}T00:00:00+08:00/..`;
      else if (HOURS[w]) {
        const t = new Date(Date.now() - HOURS[w] * 3600e3);
        t.setUTCSeconds(0, 0); // one URL per minute: tiles stay cacheable
        q.datetime = `${t.toISOString()}/..`;
      }
      return q;
    },
    _params() {
      return { status: this.filter.status.join(','), category: this.filter.category, window: this.filter.window };
    },
    /** Redraw the tiles for the filter and count the selection (and the heatmap's points). */
    load() {
      if (!this.filter.status.length) {
        this.data = []; this.total = 0; this.render();
        return this.tiles.setQuery(this.tileQuery());
      }
      const counted = this.map.hasLayer(this.heat) ? this._loadHeat() : OC.api('/events', Object.assign(this._params(), { limit: 1 }), 'no-cache').then((doc) => { this.total = doc.total; this.render(); });
      // the first load only waits for the tiles the layer asked for when it was added
      const first = !this.drawnOnce && JSON.stringify(this.tileQuery()) === JSON.stringify(this.tiles.query);
      this.drawnOnce = true;
      return Promise.all([first ? this.tiles.whenDrawn() : this.tiles.setQuery(this.tileQuery()), counted]);
    },
    /**
     * Cases changed on the live stream (their messages carry lon/lat): redraw the tiles
     * that hold them and recount; a message without a place redraws every tile in view.
     */
    changed(messages) {
      const points = messages.filter((m) => m.lon !== undefined && m.lat !== undefined).map((m) => [m.lon, m.lat]);
      if (points.length < messages.length || this.map.hasLayer(this.heat)) return this.load();
      this.liveRedraws = (this.liveRedraws || 0) + 1;
      // the tiles' server may trust its layer versions for tile_versions_ttl_ms: ask after that
      const settled = new Promise((r) => setTimeout(r, OC.state.cfg.tile_versions_ttl_ms + 100));
      const redrawn = settled.then(() => this.tiles.refreshAt(points));
      const counted = OC.api('/events', Object.assign(this._params(), { limit: 1 }), 'no-cache').then((doc) => { this.total = doc.total; this.render(); });
      return Promise.all([redrawn, counted]);
    },
    /** The heatmap's points: the selection as rows (up to console.events_limit). */
    _loadHeat() {
      if (!this.filter.status.length) return Promise.resolve();
      return OC.api('/events', this._params(), 'no-cache').then((doc) => {
        this.data = OC.rows(doc);
        this.total = doc.total;
        this.render();
      });
    },
    /** Smaller dots when the whole district is in view, so 10,000 open cases stay readable. */
    radius(z) {
      return OC.dotScale() * OC.layerCfg(ID).style.radius * (z < 12 ? 0.55 : z < 14 ? 0.8 : 1.1);
    },
    _style(p, z) {
      const factor = p.priority === 'critical' ? 1.8 : p.priority === 'urgent' ? 1.4 : 1;
      return {
        radius: factor * this.radius(z), fill: true, fillColor: OC.colorOf(ID, p), fillOpacity: 0.9,
        color: this.ringColour(p.category), weight: 1.2, opacity: 1,
      };
    },
    /** A category's ring colour, from its name: the same on every screen and every tile,
     * known before the category list arrives. */
    ringColour(category) {
      if (!category) return '#cfd8dc';
      let h = 0;
      for (const ch of String(category)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
      return RING[h % RING.length];
    },
    render() {
      if (this.map.hasLayer(this.heat)) this.heat.setLatLngs(this._heatPoints());
      if (this.ui) this.ui.querySelector('[data-ev-count]').textContent = `共 Total: ${this.total}`;
    },
    _heatPoints() {
      return this.data.map((e) => { const ll = OC.toLatLng(e.lon, e.lat); return [ll.lat, ll.lng, 0.6]; });
    },
    /** Cases drawn in view (a cluster counts as its cases). */
    count() {
      return this.tiles.count();
    },
    drawn() {
      return this.tiles.drawn();
    },
    open(code) {
      this.tiles.open(code, 16, popupHtml).catch((e) => OC.reportError(ID, e));
      return true;
    },
  };
  OC.events = events;
})();
