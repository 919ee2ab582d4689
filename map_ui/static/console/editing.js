/*
 * Grid boundary editing for GIS staff (roles gis_editor, admin), with
 * Leaflet-Geoman (vendored) for vertex editing and line drawing.
 *
 *   选择 Select   click grids on the map (the server's point query finds the
 *                 grid; its full geometry and ETag come from the OGC API)
 *   编辑顶点      1 grid: edit its vertices → PATCH …/items/{code} (If-Match);
 *   Edit vertices 2 grids: edit the first → grid-reshape {codes, geometry}
 *   画分界线      2 neighbours: draw their new shared boundary → grid-reshape
 *   拆分 Split     1 grid: draw a cutting line → grid-split (optional new codes)
 *   合并 Merge     2+ grids → grid-merge into one code
 *
 * Every edit is first checked with a dry run (`?dry_run=true` / `"dry_run": true`:
 * the server runs it and rolls back); violations are drawn in red with their
 * messages, and 保存 Save stays disabled until the check passes. On 412 the
 * grid changed under the editor: the selection is reloaded. After a save the
 * changed grids are re-fetched into the grids layer and the closed/opened
 * versions and re-assignment counts are shown. 历史 History lists a grid's
 * versions with 恢复 Restore.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  // Only layers created with pmIgnore: false take part in Geoman (editing, snapping):
  // the 20,000 camera markers and 1,301 grid paths stay untouched.
  if (window.L && L.PM) L.PM.setOptIn(true);

  const ITEM = '/ogc/collections/grids/items/';
  const EXEC = (pid) => `/ogc/processes/${pid}/execution`;
  const RED = { color: '#ff3b30', weight: 3, fillColor: '#ff3b30', fillOpacity: 0.45 };
  const SEL = { color: '#ffe066', weight: 3, dashArray: '6 4', fill: false, interactive: false };
  const T = (zh, en) => OC.titleHtml(zh, en);

  /** Map a GeoJSON geometry's positions with fn([x, y]) → [x, y]. */
  function mapCoords(geom, fn) {
    const walk = (c) => (typeof c[0] === 'number' ? fn(c) : c.map(walk));
    return { type: geom.type, coordinates: walk(geom.coordinates) };
  }
  /** Map (Leaflet) coordinates → storage lon/lat (undoes the GCJ-02 shift if on). */
  const toStorage = (geom) => mapCoords(geom, (c) => OC.fromLatLng(L.latLng(c[1], c[0])));

  const editing = {
    sel: new Map(), // code → {feature, version, outline}
    picking: false,
    tool: null, // 'vertices' | 'boundary' | 'split' | 'merge'
    pending: null, // {method, path, body, headers}: the request Save sends
    checked: false,
    lastResult: null,
    lastViolations: [],

    /** A grid edit is under way here (a selection, a tool, an unsaved change). */
    busy() {
      return this.sel.size > 0 || this.tool !== null || this.pending !== null || this.picking;
    },

    init(map) {
      this.map = map;
      if (map.pm === undefined || map.pm === null) {
        map.options.pmIgnore = false;
        L.PM.reInitLayer(map);
      }
      map.pm.setLang('zh');
      this.selLayer = L.featureGroup().addTo(map);
      this.violationLayer = L.featureGroup().addTo(map);
      this._panel();
      map.on('click', (e) => {
        if (this.picking && !this.tool) this.pickAt(e.latlng).catch((err) => this.say(err.message, true));
      });
      map.on('pm:create', (e) => this._drawn(e.layer));
      OC.on('auth', () => this._role());
      this._role();
    },

    /** True while map clicks belong to editing (the point query stays quiet). */
    capturesClicks() {
      return this.picking || this.tool !== null;
    },

    _panel() {
      document.body.insertAdjacentHTML('beforeend', `
        <section id="oc-edit-panel" hidden>
          <h3>${T('网格编辑', 'Grid editing')}</h3>
          <div class="oc-edit-row">
            <button type="button" class="oc-button" id="oc-edit-pick">${T('选择网格', 'Select grids')}</button>
            <button type="button" class="oc-button" id="oc-edit-clear">${T('清空', 'Clear')}</button>
          </div>
          <div id="oc-edit-sel" class="oc-muted">${T('未选择网格', 'No grid selected')}</div>
          <div class="oc-edit-row oc-edit-tools">
            <button type="button" class="oc-button" id="oc-edit-vertices">${T('编辑顶点', 'Edit vertices')}</button>
            <button type="button" class="oc-button" id="oc-edit-boundary">${T('画分界线', 'Draw boundary')}</button>
            <button type="button" class="oc-button" id="oc-edit-split">${T('拆分', 'Split')}</button>
            <button type="button" class="oc-button" id="oc-edit-merge">${T('合并', 'Merge')}</button>
            <button type="button" class="oc-button" id="oc-edit-history">${T('历史', 'History')}</button>
          </div>
          <div class="oc-edit-opts">
            <label>${T('新编码', 'New codes')}<input id="oc-edit-newcodes" placeholder="拆分: A1,A2"></label>
            <label>${T('合并为', 'Merge into')}<input id="oc-edit-into" placeholder="编码 code"></label>
            <label>${T('名称', 'Name')}<input id="oc-edit-name" placeholder="可选 optional"></label>
          </div>
          <div class="oc-edit-row">
            <button type="button" class="oc-button" id="oc-edit-check" disabled>${T('检查', 'Check')}</button>
            <button type="button" class="oc-button oc-primary" id="oc-edit-save" disabled>${T('保存', 'Save')}</button>
            <button type="button" class="oc-button" id="oc-edit-cancel">${T('取消', 'Cancel')}</button>
          </div>
          <p id="oc-edit-msg" class="oc-msg"></p>
          <ul id="oc-edit-violations"></ul>
          <div id="oc-edit-hist"></div>
        </section>`);
      const on = (id, fn) => document.getElementById(id).addEventListener('click', () =>
        Promise.resolve().then(fn).catch((err) => this.say(err.message, true)));
      on('oc-edit-pick', () => this.setPicking(!this.picking));
      on('oc-edit-clear', () => this.clearSelection());
      on('oc-edit-vertices', () => this.begin('vertices'));
      on('oc-edit-boundary', () => this.begin('boundary'));
      on('oc-edit-split', () => this.begin('split'));
      on('oc-edit-merge', () => this.begin('merge'));
      on('oc-edit-history', () => this.showHistory([...this.sel.keys()][0]));
      on('oc-edit-check', () => this.check());
      on('oc-edit-save', () => this.save());
      on('oc-edit-cancel', () => this.cancel());
    },

    _role() {
      const allowed = OC.auth && OC.auth.atLeast('gis_editor');
      document.getElementById('oc-edit-panel').hidden = !allowed;
      if (!allowed) { this.cancel(); this.clearSelection(); this.setPicking(false); }
    },

    say(html, isError) {
      const el = document.getElementById('oc-edit-msg');
      el.innerHTML = html;
      el.classList.toggle('oc-error', !!isError);
    },

    setPicking(on) {
      this.picking = on;
      document.getElementById('oc-edit-pick').classList.toggle('oc-active', on);
      this.map.getContainer().classList.toggle('oc-picking', on);
    },

    // -- selection -------------------------------------------------------------
    async pickAt(latlng) {
      const [lon, lat] = OC.fromLatLng(latlng);
      const doc = await OC.api('/point', { lon: lon.toFixed(7), lat: lat.toFixed(7) });
      const code = doc && doc.grid && doc.grid.code;
      if (!code) return this.say(T('此处没有网格', 'No grid here'));
      return this.sel.has(code) ? this.unselect(code) : this.select(code);
    },

    /** Add a grid to the selection: its current version (geometry + ETag) from the OGC API. */
    async select(code) {
      const r = await OC.auth.send('GET', ITEM + encodeURIComponent(code) + '?f=json');
      if (!r.ok) throw new Error((r.body && r.body.description) || `${code}: HTTP ${r.status}`);
      const version = r.body.properties.version;
      const old = this.sel.get(code);
      if (old) this.selLayer.removeLayer(old.outline);
      const outline = L.geoJSON(r.body, { coordsToLatLng: OC.coordsToLatLng, style: () => SEL });
      this.selLayer.addLayer(outline);
      this.sel.set(code, { feature: r.body, version, outline });
      this._showSelection();
      return { code, version };
    },

    unselect(code) {
      const s = this.sel.get(code);
      if (s) this.selLayer.removeLayer(s.outline);
      this.sel.delete(code);
      this._showSelection();
    },

    clearSelection() {
      this.sel.clear();
      if (this.selLayer) this.selLayer.clearLayers();
      this._showSelection();
    },

    _showSelection() {
      const el = document.getElementById('oc-edit-sel');
      if (!el) return;
      el.innerHTML = this.sel.size
        ? [...this.sel.values()].map((s) =>
          `<span class="oc-chip">${OC.esc(s.feature.properties.name)} <b>${OC.esc(s.feature.id)}</b> v${s.version}</span>`).join(' ')
        : T('未选择网格', 'No grid selected');
      const into = document.getElementById('oc-edit-into');
      if (this.sel.size && !into.value) into.value = [...this.sel.keys()][0];
      if (!this.sel.size) into.value = '';
    },

    _codes(min, max, what) {
      const codes = [...this.sel.keys()];
      if (codes.length < min || codes.length > max) {
        throw new Error(`${what}: 请先选择 ${min === max ? min : min + '+'} 个网格 — select ${min === max ? min : min + ' or more'} grid(s)`);
      }
      return codes;
    },

    _versions(codes) {
      const out = {};
      codes.forEach((c) => (out[c] = this.sel.get(c).version));
      return out;
    },

    // -- tools -------------------------------------------------------------------
    /** Start a tool (what the toolbar buttons call). */
    begin(tool) {
      this.cancel();
      this.setPicking(false);
      if (tool === 'vertices') {
        const codes = this._codes(1, 2, '编辑顶点 Edit vertices');
        const s = this.sel.get(codes[0]);
        const group = L.geoJSON(s.feature, {
          coordsToLatLng: OC.coordsToLatLng, pmIgnore: false,
          style: () => ({ color: '#00e5ff', weight: 2, fillOpacity: 0.15 }),
        });
        this.shape = group.getLayers()[0];
        this.shape.options.pmIgnore = false;
        L.PM.reInitLayer(this.shape);
        this.shape.addTo(this.map);
        this.shape.pm.enable({ allowSelfIntersection: false, snappable: true });
        this.tool = tool;
        document.getElementById('oc-edit-check').disabled = false;
        this.say(codes.length === 1
          ? T('拖动顶点修改边界,然后点“检查”', 'Drag vertices, then Check')
          : T(`修改 ${codes[0]} 的范围;${codes[1]} 得到两者并集的其余部分`, `Reshape ${codes[0]}; ${codes[1]} gets the rest`));
      } else if (tool === 'boundary' || tool === 'split') {
        if (tool === 'boundary') this._codes(2, 2, '画分界线 Draw boundary');
        else this._codes(1, 1, '拆分 Split');
        this.tool = tool;
        this.map.pm.enableDraw('Line', { snappable: true, templineStyle: { color: '#00e5ff' }, pathOptions: { color: '#00e5ff', pmIgnore: false } });
        this.say(tool === 'split'
          ? T('画一条穿过网格的分割线(单击加点,再次单击末点结束)', 'Draw a line across the grid (click the last point again to finish)')
          : T('画两个网格的新分界线,两端伸出它们的外边界', 'Draw the new shared boundary, ending outside both grids'));
      } else if (tool === 'merge') {
        const codes = this._codes(2, 99, '合并 Merge');
        const into = document.getElementById('oc-edit-into').value.trim() || codes[0];
        const name = document.getElementById('oc-edit-name').value.trim();
        const inputs = { codes, into, versions: this._versions(codes) };
        if (name) inputs.name = name;
        this.tool = tool;
        this._pend(EXEC('grid-merge'), inputs);
        return this.check();
      } else {
        throw new Error('unknown tool ' + tool);
      }
      return null;
    },

    /** Geoman finished a drawn line: it becomes the boundary or cutting line. */
    _drawn(layer) {
      if (this.tool !== 'boundary' && this.tool !== 'split') { this.map.removeLayer(layer); return null; }
      if (this.shape) this.map.removeLayer(this.shape);
      this.shape = layer;
      const line = toStorage(layer.toGeoJSON().geometry);
      const codes = [...this.sel.keys()];
      if (this.tool === 'boundary') {
        this._pend(EXEC('grid-reshape'), { codes, boundary: line, versions: this._versions(codes) });
      } else {
        const inputs = { code: codes[0], line, version: this.sel.get(codes[0]).version };
        const newCodes = document.getElementById('oc-edit-newcodes').value.split(/[,,\s]+/).filter(Boolean);
        if (newCodes.length) inputs.new_codes = newCodes;
        this._pend(EXEC('grid-split'), inputs);
      }
      return this.check();
    },

    /** The request of the vertex tool, from the edited shape (built when checking). */
    _vertexRequest() {
      const codes = [...this.sel.keys()];
      const geometry = toStorage(this.shape.toGeoJSON().geometry);
      if (codes.length === 2) {
        this._pend(EXEC('grid-reshape'), { codes, geometry, versions: this._versions(codes) });
      } else {
        this.pending = {
          method: 'PATCH', path: ITEM + encodeURIComponent(codes[0]), body: { geometry },
          headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"v${this.sel.get(codes[0]).version}"` },
        };
      }
    },

    _pend(path, inputs) {
      this.pending = { method: 'POST', path, body: { inputs } };
      document.getElementById('oc-edit-check').disabled = false;
    },

    _send(dry) {
      const p = this.pending;
      if (p.method === 'PATCH') return OC.auth.send('PATCH', p.path + (dry ? '?dry_run=true' : ''), p.body, p.headers);
      const body = { inputs: Object.assign({}, p.body.inputs, dry ? { dry_run: true } : {}) };
      return OC.auth.send('POST', p.path, body);
    },

    /** Dry run: show violations (red) or what would happen; Save only after a clean check. */
    async check() {
      if (this.tool === 'vertices') this._vertexRequest();
      if (!this.pending) throw new Error('先编辑或画线 — edit or draw first');
      this.say(T('检查中…', 'Checking…'));
      const r = await this._send(true);
      this.checked = r.ok;
      document.getElementById('oc-edit-save').disabled = !r.ok;
      this._showViolations(r.status === 409 && r.body ? r.body.violations || [] : []);
      if (r.ok) {
        const out = r.body['onemap:edit'] || r.body;
        this.say(`${T('检查通过,可保存', 'Check passed — ready to save')}<br>${this._summary(out)}`);
      } else {
        await this._failed(r);
      }
      return { status: r.status, body: r.body };
    },

    async save() {
      if (!this.pending || !this.checked) throw new Error('请先检查 — run Check first');
      document.getElementById('oc-edit-save').disabled = true;
      const r = await this._send(false);
      if (!r.ok) {
        this.checked = false;
        this._showViolations(r.status === 409 && r.body ? r.body.violations || [] : []);
        await this._failed(r);
        return { status: r.status, body: r.body };
      }
      const out = r.body['onemap:edit'] || r.body;
      this._endTool();
      const codes = new Set([...out.closed.map((c) => c.code), ...out.opened.map((o) => o.code)]);
      this.clearSelection();
      await this.refreshGrids(out);
      for (const o of out.opened) await this.select(o.code).catch(() => {});
      this.say(`${T('已保存', 'Saved')}<br>${this._summary(out)}`);
      this.lastResult = out; // only now: the grids layer and the selection show the result
      OC.emit('grids-edited', out, [...codes]);
      return { status: r.status, body: out };
    },

    async _failed(r) {
      const d = (r.body && r.body.description) || `HTTP ${r.status}`;
      if (r.status === 409) {
        this.say(`${T('不满足拓扑规则,未保存', 'Topology rules violated — nothing saved')}: ${OC.esc(d)}`, true);
      } else if (r.status === 412) {
        const codes = [...this.sel.keys()];
        this._endTool();
        for (const c of codes) await this.select(c).catch(() => this.unselect(c));
        this.say(T('网格已被他人修改,已重新加载,请重新编辑', 'The grid changed since you loaded it; reloaded — edit again'), true);
      } else if (r.status === 401 || r.status === 403) {
        this.say(`${T('无权限或登录已过期', 'Not allowed or session expired')}: ${OC.esc(d)}`, true);
      } else {
        this.say(OC.esc(d), true);
      }
    },

    _summary(out) {
      const closed = (out.closed || []).map((c) => `${OC.esc(c.code)} v${c.version}`).join(', ') || '–';
      const opened = (out.opened || []).map((o) => `${OC.esc(o.code)} v${o.version} (${Math.round(o.area_m2)} m²)`).join(', ') || '–';
      const re = out.reassigned || {};
      return `${T('关闭', 'Closed')}: ${closed}<br>${T('新版本', 'Opened')}: ${opened}<br>` +
        `${T('重新归属', 'Re-assigned')}: ${T('视频', 'cameras')} ${re.cameras ?? 0} · ${T('事件', 'events')} ${re.events ?? 0}`;
    },

    _showViolations(list) {
      this.lastViolations = list;
      this.violationLayer.clearLayers();
      const ul = document.getElementById('oc-edit-violations');
      ul.innerHTML = '';
      list.forEach((v, i) => {
        const layer = L.geoJSON(v.geometry, {
          coordsToLatLng: OC.coordsToLatLng, style: () => RED,
          pointToLayer: (f, ll) => L.circleMarker(ll, Object.assign({ radius: 8 }, RED)),
        }).bindPopup(`<div class="oc-popup"><h4>${T('违规', 'Violation')} ${i + 1}</h4><p>${OC.esc(v.message)}</p></div>`);
        this.violationLayer.addLayer(layer);
        const li = document.createElement('li');
        li.textContent = `${i + 1}. ${v.message}`;
        li.addEventListener('click', () => { this.map.fitBounds(layer.getBounds(), { maxZoom: 18 }); layer.openPopup(); });
        ul.appendChild(li);
      });
      if (list.length) this.map.fitBounds(this.violationLayer.getBounds().pad(0.5), { maxZoom: 18 });
    },

    _endTool() {
      if (this.map.pm.globalDrawModeEnabled()) this.map.pm.disableDraw();
      if (this.shape) { if (this.shape.pm) this.shape.pm.disable(); this.map.removeLayer(this.shape); }
      this.shape = null;
      this.tool = null;
      this.pending = null;
      this.checked = false;
      document.getElementById('oc-edit-check').disabled = true;
      document.getElementById('oc-edit-save').disabled = true;
    },

    cancel() {
      if (!this.map) return;
      this._endTool();
      this._showViolations([]);
      this.say('');
    },

    // -- the grids layer after a save ------------------------------------------
    /** Replace closed grids in the console's grids layer by their new versions. */
    async refreshGrids(out) {
      const data = OC.areas.data.grids;
      if (!data) return;
      const gone = new Set(out.closed.map((c) => c.code));
      const previous = {};
      data.features.forEach((f) => (previous[f.properties.code] = f.properties));
      data.features = data.features.filter((f) => !gone.has(f.properties.code));
      for (const o of out.opened) {
        const r = await OC.auth.send('GET', ITEM + encodeURIComponent(o.code) + '?f=json');
        if (!r.ok) continue;
        const p = r.body.properties;
        const b = L.geoJSON(r.body).getBounds().getCenter(); // plain lon/lat: no shift here
        const before = previous[o.code] || previous[out.closed[0] && out.closed[0].code] || {};
        data.features = data.features.filter((f) => f.properties.code !== o.code);
        data.features.push({
          type: 'Feature', id: o.code, geometry: r.body.geometry,
          properties: Object.assign({}, p, { town_name: before.town_name, open_events: before.open_events ?? 0, label: [b.lng, b.lat] }),
        });
      }
      OC.areas.render('grids');
    },

    // -- history -------------------------------------------------------------------
    async showHistory(code) {
      if (!code) throw new Error('请先选择一个网格 — select a grid first');
      const r = await OC.auth.send('GET', `/api/grids/${encodeURIComponent(code)}/history`);
      if (!r.ok) throw new Error((r.body && r.body.description) || `HTTP ${r.status}`);
      const current = r.body.versions.find((v) => !v.valid_to);
      const rows = r.body.versions.slice().reverse().map((v) => `<tr>
          <td>v${v.version}</td><td>${OC.esc(OC.fmtTime(v.valid_from))}</td>
          <td>${v.valid_to ? OC.esc(OC.fmtTime(v.valid_to)) : T('现行', 'current')}</td>
          <td>${Math.round(v.area_m2)} m²</td>
          <td>${v.valid_to && current ? `<button type="button" class="oc-button oc-restore" data-version="${v.version}">${T('恢复', 'Restore')}</button>` : ''}</td></tr>`).join('');
      const box = document.getElementById('oc-edit-hist');
      box.innerHTML = `<h4>${T('版本历史', 'History')} ${OC.esc(code)}</h4><table class="oc-hist">
        <thead><tr><th>${T('版本', 'Ver.')}</th><th>${T('起', 'From')}</th><th>${T('止', 'To')}</th><th>${T('面积', 'Area')}</th><th></th></tr></thead>
        <tbody>${rows}</tbody></table>`;
      box.querySelectorAll('.oc-restore').forEach((btn) => btn.addEventListener('click', () => {
        if (btn.dataset.armed !== '1') { // two clicks: a restore is a new version for everyone
          btn.dataset.armed = '1';
          btn.innerHTML = T('确认恢复?', 'Confirm?');
          return;
        }
        this.restore(code, Number(btn.dataset.version), current.version).catch((err) => this.say(err.message, true));
      }));
      return r.body.versions;
    },

    async restore(code, version, currentVersion) {
      const r = await OC.auth.send('POST', `/api/grids/${encodeURIComponent(code)}/restore`, { version },
        { 'If-Match': `"v${currentVersion}"` });
      this._showViolations(r.status === 409 && r.body ? r.body.violations || [] : []);
      if (!r.ok) { await this._failed(r); return { status: r.status, body: r.body }; }
      const out = r.body['onemap:edit'] || r.body;
      await this.refreshGrids(out);
      await this.select(code).catch(() => {});
      await this.showHistory(code);
      this.say(`${T('已恢复', 'Restored')} v${version}<br>${this._summary(out)}`);
      return { status: r.status, body: out };
    },

    state() {
      return {
        tool: this.tool, picking: this.picking, selected: [...this.sel.keys()],
        checked: this.checked, violations: this.violationLayer ? this.violationLayer.getLayers().length : 0,
        lastResult: this.lastResult,
      };
    },
  };
  OC.editing = editing;
})();
