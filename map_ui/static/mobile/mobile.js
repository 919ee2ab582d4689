/*
 * The phone page (/m/) for grid workers and handlers: sign in, my tasks, accept,
 * report done with a photo, a note and the phone's location, and 随手拍 (a new
 * problem with photo and location), and duty (上岗/下岗): while on duty the phone's
 * position goes to /api/duty/positions every `report_every_s` (the server's setting),
 * never off duty — the timer exists only between 上岗 and 下岗 (or sign-out). Talks
 * only to the same-origin API with the session cookie; every write carries the
 * session's CSRF token.
 */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const STATUS = { received: '已受理', manual: '待人工派单', dispatched: '已派单', accepted: '处置中',
    returned: '已退回', resolved: '已办结', verified: '已核查', closed: '已结案' };
  const ACTION_LABELS = { accept: '接单 Accept', return: '退回 Return', verify: '核查通过 Verify',
    reopen: '重新处置 Reopen', cohandle_done: '协办完成 Share done' };
  const NEEDS_NOTE = new Set(['return', 'reopen', 'cohandle_done']);
  const state = { user: null, event: null };
  const duty = { on: false, timer: null, every: 60, reports: 0, last: null, note: '' };
  window.OnemapMobile = { duty };

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  /** A same-origin request; JSON unless `raw` (a Blob/File sent as is). Never throws on a status. */
  async function send(method, path, body, raw) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && state.user && state.user.csrf_token) headers['X-CSRF-Token'] = state.user.csrf_token;
    let payload;
    if (raw) { payload = raw; headers['Content-Type'] = raw.type || 'application/octet-stream'; }
    else if (body !== undefined) { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
    const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    const text = await res.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
    return { status: res.status, ok: res.ok, body: doc };
  }

  function problem(r) {
    return (r.body && r.body.description) || `请求失败 HTTP ${r.status}`;
  }

  function show(section) {
    for (const id of ['m-login', 'm-tasks', 'm-task', 'm-report']) $(id).hidden = id !== section;
  }

  /** The phone's position, or null when it is refused, unavailable or too slow. */
  function here(maxAgeMs) {
    return new Promise((resolve) => {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy }),
        () => resolve(null),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: maxAgeMs === undefined ? 60000 : maxAgeMs });
    });
  }

  function renderDuty() {
    $('m-duty').dataset.on = duty.on ? '1' : '0';
    $('m-duty-state').textContent = duty.on ? '在岗 On duty' : '未上岗 Off duty';
    $('m-duty-toggle').textContent = duty.on ? '下岗 End duty' : '上岗 Go on duty';
    const last = duty.last ? `上报 ${duty.last.toTimeString().slice(0, 5)}` : '';
    $('m-duty-info').textContent = duty.note || (duty.on
      ? `每 ${duty.every} 秒上报位置 — position every ${duty.every} s ${last}`
      : '下岗时不采集位置 — no position is taken off duty');
    document.body.dataset.duty = duty.on ? 'on' : 'off';
  }

  /** On or off duty as the server says; the report timer runs only while on duty. */
  function setDuty(body) {
    duty.on = !!(body && body.on_duty);
    duty.every = (body && body.report_every_s) || duty.every;
    clearInterval(duty.timer);
    duty.timer = null;
    duty.note = '';
    if (duty.on) {
      duty.timer = setInterval(reportHere, duty.every * 1000);
      reportHere();
    }
    renderDuty();
  }

  async function reportHere() {
    if (!duty.on) return;
    const pos = await here(Math.min(duty.every * 500, 30000));
    if (!duty.on) return; // signed off while the phone was locating
    if (!pos) { duty.note = '无法取得位置，请允许定位 — location needed'; renderDuty(); return; }
    const r = await send('POST', '/api/duty/positions', { lon: pos.lon, lat: pos.lat, accuracy: pos.accuracy });
    if (r.status === 409 || r.status === 401) { setDuty(null); return; } // off duty elsewhere
    duty.note = r.ok ? '' : problem(r);
    if (r.ok) { duty.reports += 1; duty.last = new Date(); }
    renderDuty();
  }

  async function loadDuty() {
    const r = await send('GET', '/api/duty');
    $('m-duty').hidden = !r.ok; // roles below grid worker have no duty
    if (r.ok) setDuty(r.body); else setDuty(null);
  }

  async function toggleDuty() {
    $('m-duty-toggle').disabled = true;
    try {
      const r = await send('POST', duty.on ? '/api/duty/end' : '/api/duty/start');
      if (r.ok || r.status === 409) setDuty(r.ok ? r.body : null);
      else { duty.note = problem(r); renderDuty(); }
    } finally { $('m-duty-toggle').disabled = false; }
  }

  function setUser(user) {
    state.user = user;
    $('m-user').hidden = $('m-logout').hidden = !user;
    $('m-user').textContent = user ? (user.display_name || user.username) : '';
    document.body.dataset.role = user ? user.role : '';
  }

  async function login(ev) {
    ev.preventDefault();
    $('m-login-msg').textContent = '';
    const r = await send('POST', '/api/auth/login', { username: $('m-username').value, password: $('m-password').value });
    if (!r.ok) { $('m-login-msg').textContent = problem(r); return; }
    $('m-password').value = '';
    setUser(r.body);
    await loadTasks();
    await loadDuty();
  }

  async function loadTasks() {
    const r = await send('GET', '/api/events?queue=mine&limit=100');
    if (r.status === 401) { setUser(null); show('m-login'); return; }
    show('m-tasks');
    if (!r.ok) { $('m-list').innerHTML = `<li class="m-msg">${esc(problem(r))}</li>`; return; }
    $('m-count').textContent = `(${r.body.total})`;
    $('m-list').innerHTML = r.body.events.map((e) => `<li data-code="${esc(e.code)}">
      <span class="m-status" data-status="${esc(e.status)}">${esc(STATUS[e.status] || e.status)}</span>
      <div class="m-code">${esc(e.code)}</div><div>${esc(e.category)}${e.subcategory ? ' · ' + esc(e.subcategory) : ''}</div>
      <div>${esc(e.address || '')}</div><small>时限 ${esc((e.due_at || '').slice(0, 16).replace('T', ' '))}</small></li>`).join('')
      || '<li>暂无任务 No tasks</li>';
  }

  function detailHtml(e) {
    const photos = (e.photos || []).filter((u) => u.startsWith('/api/events/'));
    const rows = [['编号', e.code], ['状态', STATUS[e.status] || e.status], ['类别', e.category],
      ['地址', e.address], ['描述', e.description], ['时限', (e.due_at || '').slice(0, 16).replace('T', ' ')]];
    return `<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`
      + photos.map((u) => `<img alt="现场照片" src="${esc(u)}">`).join('');
  }

  async function openTask(code) {
    $('m-task-msg').textContent = '';
    const r = await send('GET', `/api/events/${encodeURIComponent(code)}`);
    if (!r.ok) { $('m-task-msg').textContent = problem(r); show('m-task'); return; }
    state.event = r.body;
    $('m-detail').innerHTML = detailHtml(r.body);
    const allowed = r.body.allowed_actions || [];
    $('m-actions').innerHTML = allowed.filter((a) => ACTION_LABELS[a])
      .map((a) => `<button data-action="${a}">${ACTION_LABELS[a]}</button>`).join('');
    $('m-done-form').hidden = !allowed.includes('resolve');
    show('m-task');
  }

  async function act(action, note) {
    const e = state.event;
    const r = await send('POST', `/api/events/${encodeURIComponent(e.code)}/actions`,
      { action, note: note || undefined, expected_version: e.version });
    if (!r.ok) {
      $('m-task-msg').textContent = problem(r);
      if (r.status === 409 || r.status === 412) await openTask(e.code).then(() => { $('m-task-msg').textContent = problem(r); });
      return false;
    }
    await openTask(e.code);
    return true;
  }

  async function upload(code, file) {
    if (!file) return true;
    const r = await send('POST', `/api/events/${encodeURIComponent(code)}/photos`, undefined, file);
    if (!r.ok) throw new Error(`照片上传失败: ${problem(r)}`);
    return r.body;
  }

  async function reportDone(ev) {
    ev.preventDefault();
    const msg = $('m-task-msg');
    msg.textContent = '定位并上传中…';
    try {
      const pos = await here();
      await upload(state.event.code, $('m-done-photo').files[0]);
      const where = pos ? ` [位置 ${pos.lon.toFixed(6)},${pos.lat.toFixed(6)} ±${Math.round(pos.accuracy)}m]` : ' [未取得位置]';
      if (await act('resolve', $('m-done-note').value + where)) {
        $('m-done-form').reset();
        msg.className = 'm-msg m-ok';
        msg.textContent = '已办结 Reported done';
      }
    } catch (err) { msg.className = 'm-msg'; msg.textContent = err.message; }
  }

  async function reportNew(ev) {
    ev.preventDefault();
    const msg = $('m-report-msg');
    msg.className = 'm-msg';
    msg.textContent = '定位中…';
    const pos = await here();
    if (!pos) { msg.textContent = '无法取得位置，请允许定位 — location needed'; return; }
    const r = await send('POST', '/api/events', {
      source: 'grid_worker', category: $('m-report-category').value,
      description: $('m-report-text').value || undefined,
      external_id: `m-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`,
      location: { lon: pos.lon, lat: pos.lat },
    });
    if (!r.ok) { msg.textContent = problem(r); return; }
    try { await upload(r.body.code, $('m-report-photo').files[0]); } catch (err) { msg.textContent = err.message; return; }
    $('m-report-form').reset();
    msg.className = 'm-msg m-ok';
    msg.textContent = `已上报 ${r.body.code}`;
  }

  async function start() {
    $('m-login-form').addEventListener('submit', login);
    $('m-refresh').addEventListener('click', loadTasks);
    $('m-back').addEventListener('click', loadTasks);
    $('m-report-back').addEventListener('click', loadTasks);
    $('m-new').addEventListener('click', () => { $('m-report-msg').textContent = ''; show('m-report'); });
    $('m-list').addEventListener('click', (ev) => { const li = ev.target.closest('li[data-code]'); if (li) openTask(li.dataset.code); });
    $('m-actions').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-action]');
      if (!b) return;
      const action = b.dataset.action;
      const note = NEEDS_NOTE.has(action) ? window.prompt(action === 'cohandle_done' ? '协办情况 What your department did' : '原因 Reason') : null;
      if (NEEDS_NOTE.has(action) && !note) return;
      act(action, note);
    });
    $('m-done-form').addEventListener('submit', reportDone);
    $('m-report-form').addEventListener('submit', reportNew);
    $('m-duty-toggle').addEventListener('click', toggleDuty);
    $('m-logout').addEventListener('click', async () => {
      if (duty.on) await send('POST', '/api/duty/end'); // signing out ends the duty: no more positions
      setDuty(null);
      await send('POST', '/api/auth/logout'); setUser(null); show('m-login');
    });
    const me = await send('GET', '/api/auth/me');
    if (me.ok) { setUser(me.body); await loadTasks(); await loadDuty(); } else show('m-login');
    document.body.dataset.ready = '1';
  }
  start();
})();
