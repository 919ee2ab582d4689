/*
 * Login in the console: a small 登录 Login button in the header opens a form;
 * POST /api/auth/login sets the HttpOnly session cookie and returns the CSRF
 * token, which every write echoes in X-CSRF-Token (OC.auth.send). The header
 * then shows the user and role, with 退出 Logout.
 *
 * An anonymous big screen never asks /api/auth/me (it would only get a 401):
 * a flag in localStorage remembers that this browser logged in, so a reload
 * restores the user (and the CSRF token) from /api/auth/me.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const FLAG = 'onemap.session';
  const ROLES = ['viewer', 'dispatcher', 'gis_editor', 'admin'];
  const ROLE_LABELS = {
    viewer: ['查看', 'Viewer'],
    dispatcher: ['调度', 'Dispatcher'],
    gis_editor: ['GIS 编辑', 'GIS editor'],
    admin: ['管理员', 'Admin'],
  };

  const auth = {
    user: null,

    /** True when the logged-in user has at least this role. */
    atLeast(role) {
      return !!this.user && ROLES.indexOf(this.user.role) >= ROLES.indexOf(role);
    },

    init() {
      const header = document.getElementById('oc-header');
      header.insertAdjacentHTML('beforeend', `
        <div id="oc-auth">
          <button id="oc-login-btn" type="button" class="oc-button">登录 <span class="oc-en">Login</span></button>
          <span id="oc-user" hidden></span>
          <button id="oc-logout-btn" type="button" class="oc-button" hidden>退出 <span class="oc-en">Logout</span></button>
          <form id="oc-login-panel" hidden autocomplete="on">
            <label>用户名 <span class="oc-en">User</span><input id="oc-login-user" name="username" autocomplete="username" required></label>
            <label>密码 <span class="oc-en">Password</span><input id="oc-login-pass" name="password" type="password" autocomplete="current-password" required></label>
            <div class="oc-edit-row"><button type="submit" class="oc-button">登录 <span class="oc-en">Login</span></button>
              <button type="button" id="oc-login-cancel" class="oc-button">取消 <span class="oc-en">Cancel</span></button></div>
            <p id="oc-login-msg" class="oc-msg"></p>
          </form>
        </div>`);
      const panel = document.getElementById('oc-login-panel');
      document.getElementById('oc-login-btn').addEventListener('click', () => {
        panel.hidden = !panel.hidden;
        if (!panel.hidden) document.getElementById('oc-login-user').focus();
      });
      document.getElementById('oc-login-cancel').addEventListener('click', () => (panel.hidden = true));
      panel.addEventListener('submit', (e) => {
        e.preventDefault();
        this.login(document.getElementById('oc-login-user').value, document.getElementById('oc-login-pass').value)
          .catch(() => {});
      });
      document.getElementById('oc-logout-btn').addEventListener('click', () => this.logout());
      if (localStorage.getItem(FLAG)) this.restore();
    },

    async restore() {
      const res = await fetch('/api/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (res.ok) this._set(await res.json());
      else { localStorage.removeItem(FLAG); this._set(null); }
    },

    /** POST /api/auth/login; resolves with the user or rejects with the server's message. */
    async login(username, password) {
      const msg = document.getElementById('oc-login-msg');
      msg.textContent = '';
      const res = await fetch('/api/auth/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        msg.textContent = body.description || `登录失败 Login failed (HTTP ${res.status})`;
        throw new Error(msg.textContent);
      }
      localStorage.setItem(FLAG, '1');
      document.getElementById('oc-login-pass').value = '';
      document.getElementById('oc-login-panel').hidden = true;
      this._set(body);
      return body;
    },

    async logout() {
      if (this.user) await this.send('POST', '/api/auth/logout').catch(() => {});
      localStorage.removeItem(FLAG);
      this._set(null);
    },

    /**
     * A same-origin request with the session cookie and (for writes) the CSRF token.
     * Resolves with {status, ok, body, headers}; never throws on an HTTP status.
     */
    async send(method, path, body, headers) {
      const h = Object.assign({ Accept: 'application/json' }, headers || {});
      if (this.user && this.user.csrf_token && method !== 'GET') h['X-CSRF-Token'] = this.user.csrf_token;
      if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
      const res = await fetch(path, {
        method, credentials: 'same-origin', headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let doc = null;
      try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
      return { status: res.status, ok: res.ok, body: doc, headers: res.headers };
    },

    _set(user) {
      this.user = user;
      const label = user ? ROLE_LABELS[user.role] || [user.role, ''] : null;
      const who = document.getElementById('oc-user');
      who.hidden = !user;
      who.innerHTML = user
        ? `${OC.esc(user.display_name || user.username)} · ${OC.titleHtml(label[0], label[1])}`
        : '';
      document.getElementById('oc-login-btn').hidden = !!user;
      document.getElementById('oc-logout-btn').hidden = !user;
      document.body.dataset.role = user ? user.role : '';
      OC.emit('auth', user);
    },
  };
  OC.auth = auth;
})();
