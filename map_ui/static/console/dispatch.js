/*
 * The dispatch panel (派单调度) for signed-in dispatchers, GIS editors and admins: queues with
 * counts, paged (更多 loads the next page from the server; a live refresh re-reads as many rows),
 * an event's detail (timeline, photos, nearby cameras / vehicles / grid worker / grid workers on
 * duty, nearest first, with phone when the server gives it) and its actions, sent with the version read (a 409/412 shows the server's word and reloads).
 * Live: listens to the `event` messages of live.js's one EventSource (no second stream)
 * and redraws queues, the open event, the event markers and the town figures.
 * It folds to its title bar (收起); for those who may edit grids it sits beside the grid-editing
 * panel (class oc-beside-edit) instead of over it. It starts folded only for GIS editors, whose
 * work is the map; an admin, who also dispatches, gets it open.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const QUEUES = [['new', '新件'], ['manual', '人工'], ['overdue', '超期'], ['returned', '退回'], ['mine', '全部在办']];
  const ROLES = ['dispatcher', 'gis_editor', 'admin'];
  const EDITORS = ['gis_editor', 'admin']; // they also have the grid-editing panel (editing.js)
  const PAGE = 30;
  const REREAD_MAX = 200; // dispatch.page_max's default: a refresh re-reads at most this many rows
  const ACTIONS = { dispatch: '派单', return: '退回', verify: '核查', close: '结案', reopen: '重办',
    escalate: '督办', cohandle: '协办', cohandle_done: '协办完成', callback: '回访', accept: '签收',
    resolve: '办结', photo: '照片' };
  const NEEDS_NOTE = new Set(['return', 'reopen', 'escalate', 'cohandle_done']);
  const NEEDS_DEPT = new Set(['dispatch', 'cohandle', 'cohandle_done']);
  const SATISFACTION = { satisfied: '满意', basic: '基本满意', unsatisfied: '不满意' };
  const esc = (s) => OC.esc(s == null ? '' : String(s));
  const day = (t) => (t ? String(t).slice(0, 16).replace('T', ' ') : '');
  const metres = (m) => (m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`);
  const onDuty = (w) => `<li class="oc-donduty" data-user="${esc(w.username)}">🧭 在岗 ${esc(w.name)} ${metres(w.distance_m)}${
    w.phone ? ` <a href="tel:${esc(w.phone)}">${esc(w.phone)}</a>` : ''} <small>最近定位 ${day(w.last_report) || '—'}</small></li>`;

  const dispatch = {
    queue: 'new', counts: {}, events: [], total: 0, current: null, departments: [], liveUpdates: 0, box: null,
    folded: false,
    init() {
      OC.on('auth', (user) => this.toggle(user));
      OC.on('live:event', (msg) => this.onLive(msg));
    },
    toggle(user) {
      const allowed = !!user && ROLES.includes(user.role);
      if (allowed && !this.box) this.build();
      if (this.box) this.box.hidden = !allowed;
      const beside = allowed && EDITORS.includes(user.role);
      if (this.box) this.box.classList.toggle('oc-beside-edit', beside);
      document.body.classList.toggle('oc-beside-edit', beside);
      if (allowed) this.fold(user.role === 'gis_editor');
      if (allowed) {
        this.refresh();
        if (!this.departments.length) {
          OC.auth.send('GET', '/api/departments').then((r) => { if (r.ok) this.departments = r.body.departments; });
        }
      }
    },
    build() {
      const box = (this.box = document.createElement('section'));
      box.id = 'oc-dispatch';
      box.innerHTML = `<h3>派单调度 <small>Dispatch</small>
        <button id="oc-dfold" type="button" aria-expanded="true">收起</button></h3>
        <nav id="oc-dq">${QUEUES.map(([q, l]) => `<button data-queue="${q}">${l} <b data-count="${q}">·</b></button>`).join('')}</nav>
        <div id="oc-dbody"><ul id="oc-dlist"></ul>
        <p id="oc-dpage"><span></span> <button id="oc-dmore" type="button" hidden>更多 More</button></p>
        <div id="oc-ddetail" hidden></div></div><p id="oc-dmsg" role="alert"></p>`;
      document.body.appendChild(box);
      box.querySelector('#oc-dfold').addEventListener('click', () => this.fold(!this.folded));
      box.querySelector('#oc-dmore').addEventListener('click', () => this.loadMore().catch((e) => OC.reportError('dispatch', e)));
      box.querySelector('#oc-dq').addEventListener('click', (e) => {
        const b = e.target.closest('button[data-queue]');
        if (b) { this.queue = b.dataset.queue; this.events = []; this.fold(false); this.loadList(); }
      });
      box.querySelector('#oc-dlist').addEventListener('click', (e) => {
        const li = e.target.closest('li[data-code]');
        if (li) this.open(li.dataset.code);
      });
      box.querySelector('#oc-ddetail').addEventListener('click', (e) => {
        const b = e.target.closest('button[data-act]');
        if (b) this.act(b.dataset.act);
      });
    },
    refresh() {
      return Promise.all([this.loadCounts(), this.loadList(), this.current ? this.open(this.current.code) : null]);
    },
    async loadCounts() {
      await Promise.all(QUEUES.map(async ([q]) => {
        const r = await OC.auth.send('GET', `/api/events?queue=${q}&limit=1`);
        if (r.ok) this.counts[q] = r.body.total;
      }));
      QUEUES.forEach(([q]) => { const el = this.box.querySelector(`[data-count=${q}]`); if (el) el.textContent = this.counts[q] ?? '·'; });
    },
    fold(on) {
      this.folded = !!on;
      this.box.classList.toggle('oc-folded', this.folded);
      const b = this.box.querySelector('#oc-dfold');
      b.textContent = this.folded ? '展开' : '收起';
      b.setAttribute('aria-expanded', String(!this.folded));
    },
    /** The queue's first rows again: as many as are shown (a page at least), so a refresh keeps "更多". */
    async loadList() {
      const q = this.queue;
      const limit = Math.min(REREAD_MAX, Math.max(PAGE, this.events.length));
      const r = await OC.auth.send('GET', `/api/events?queue=${q}&limit=${limit}&offset=0`);
      if (!r.ok || q !== this.queue) return;
      this.events = r.body.events;
      this.total = r.body.total;
      this.drawList();
    },
    async loadMore() {
      const q = this.queue;
      const r = await OC.auth.send('GET', `/api/events?queue=${q}&limit=${PAGE}&offset=${this.events.length}`);
      if (!r.ok || q !== this.queue) return;
      const seen = new Set(this.events.map((e) => e.code));
      this.events = this.events.concat(r.body.events.filter((e) => !seen.has(e.code)));
      this.total = r.body.total;
      this.drawList();
    },
    drawList() {
      this.box.querySelectorAll('#oc-dq button').forEach((b) => b.classList.toggle('oc-on', b.dataset.queue === this.queue));
      this.box.querySelector('#oc-dlist').innerHTML = this.events.map((e) => `<li data-code="${esc(e.code)}" data-status="${esc(e.status)}">
        <b>${esc(e.code)}</b> ${esc(e.category)} <i>${esc(e.status)}</i><br><small>${esc(e.department || '未派')} · 时限 ${day(e.due_at)}</small></li>`).join('') || '<li>（空）</li>';
      this.box.querySelector('#oc-dpage span').textContent = `${this.events.length} / ${this.total}`;
      this.box.querySelector('#oc-dmore').hidden = this.events.length >= this.total;
    },
    async open(code) {
      const [r, near] = await Promise.all([OC.auth.send('GET', `/api/events/${encodeURIComponent(code)}`),
        OC.auth.send('GET', `/api/events/${encodeURIComponent(code)}/nearby`)]);
      if (!r.ok) { this.say(r.body && r.body.description); return; }
      this.current = r.body;
      const el = this.box.querySelector('#oc-ddetail');
      el.hidden = false;
      el.dataset.code = code;
      el.innerHTML = this.detailHtml(r.body, near.ok ? near.body : null);
      if (r.body.lon != null && OC.state.map) OC.state.map.panTo([r.body.lat, r.body.lon]);
    },
    detailHtml(e, near) {
      const photos = (e.photos || []).filter((u) => u.startsWith('/api/events/'));
      const depts = this.departments.map((d) => `<option value="${esc(d.code)}">${esc(d.name)}</option>`).join('');
      const acts = (e.allowed_actions || []).map((a) => `<button data-act="${a}">${ACTIONS[a] || a}</button>`).join('');
      const near_ = near ? `<h4>周边资源</h4><ul class="oc-dnear">
        ${(near.cameras || []).map((c) => `<li>📷 ${esc(c.name)} ${Math.round(c.distance_m)} m ${c.stream_url ? `<a href="${esc(c.stream_url)}" target="_blank" rel="noopener">视频</a>` : ''}</li>`).join('')}
        ${(near.vehicles || []).map((v) => `<li>🚗 ${esc(v.plate || v.code)} ${Math.round(v.distance_m)} m</li>`).join('')}
        ${near.grid_worker ? `<li>👤 网格员 ${esc(near.grid_worker.name)} ${esc(near.grid_worker.phone || '')}</li>` : ''}
        ${(near.workers_on_duty || []).map(onDuty).join('')}</ul>` : '';
      return `<h4>${esc(e.code)} · ${esc(e.category)} <span data-field="status">${esc(e.status)}</span> v${e.version}</h4>
        <p>${esc(e.address || '')} ${esc(e.description || '')}</p><p>部门 ${esc(e.department || '—')} · 时限 ${day(e.due_at)}</p>
        ${photos.map((u) => `<img class="oc-dphoto" alt="照片" src="${esc(u)}">`).join('')}
        ${(e.shares || []).length ? `<h4>协办</h4><ul class="oc-dshares">${e.shares.map((s) => `<li data-dept="${esc(s.department_code)}" data-done="${s.done_at ? 1 : 0}">${esc(s.department)} ${s.done_at ? `✓ ${day(s.done_at)} ${esc(s.done_note || '')}` : '办理中 open'}</li>`).join('')}</ul>` : ''}
        <h4>流程</h4><ol class="oc-dtimeline">${(e.timeline || []).map((t) => `<li data-action="${esc(t.action)}">${day(t.at)} ${esc(ACTIONS[t.action] || t.action)} → ${esc(t.to_status)} · ${esc(t.actor)}${t.department_code ? ' · ' + esc(t.department_code) : ''}${t.note ? ' · ' + esc(t.note) : ''}</li>`).join('')}</ol>
        ${near_}<div class="oc-dform"><select name="department">${depts}</select>
        <select name="satisfaction">${Object.entries(SATISFACTION).map(([k, v]) => `<option value="${k}">${v}</option>`).join('')}</select>
        <input name="note" placeholder="意见/原因 Note" maxlength="2000"></div><div class="oc-dacts">${acts}</div>`;
    },
    async act(action) {
      const e = this.current;
      const form = this.box.querySelector('.oc-dform');
      const body = { action, expected_version: e.version };
      const note = form.querySelector('[name=note]').value.trim();
      if (note) body.note = note;
      if (NEEDS_NOTE.has(action) && !note) { this.say('请填写原因 — a note is required'); return; }
      if (NEEDS_DEPT.has(action)) body.department_code = form.querySelector('[name=department]').value;
      if (action === 'callback') body.satisfaction = form.querySelector('[name=satisfaction]').value;
      const r = await OC.auth.send('POST', `/api/events/${encodeURIComponent(e.code)}/actions`, body);
      this.say(r.ok ? `${ACTIONS[action] || action} ✓` : (r.body && r.body.description) || `HTTP ${r.status}`);
      await this.refresh(); // on 409/412 this shows the state the server has now
    },
    say(text) { if (this.box) this.box.querySelector('#oc-dmsg').textContent = text || ''; },
    onLive(msg) {
      this.liveUpdates += 1;
      (this._moved = this._moved || []).push(msg);
      clearTimeout(this._t);
      this._t = setTimeout(() => {
        const moved = this._moved.splice(0);
        if (this.box && !this.box.hidden) this.refresh().catch((e) => OC.reportError('dispatch', e));
        if (OC.events && OC.events.group) OC.events.changed(moved).catch((e) => OC.reportError('events', e));
        if (OC.panel) OC.panel.load().catch((e) => OC.reportError('stats', e));
      }, 300);
    },
    state() {
      return { visible: !!this.box && !this.box.hidden, folded: this.folded, queue: this.queue, counts: { ...this.counts },
        total: this.total, codes: this.events.map((e) => e.code), current: this.current && this.current.code, liveUpdates: this.liveUpdates };
    },
  };
  OC.dispatch = dispatch;
})();
