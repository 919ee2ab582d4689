/*
 * One district or the whole city (issue 16). `/?district=320681` opens the console
 * on one district: every /api/console body is asked for it (OC.api adds the
 * parameter), the vector tiles get `district_code = '…'` in their CQL2 filter
 * (mvt.js), and the map fits the district. Without it, the city view draws every
 * district's boundary. A picker in the header lists the districts for users who
 * may see more than one; a district-scoped user is sent to their own (the server
 * keeps their bodies to it whatever the URL says).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  // read before any module asks the server for a layer
  OC.state.district = new URLSearchParams(window.location.search).get('district') || null;

  /** This page's URL for `code` (null: the city view). */
  function urlFor(code) {
    const url = new URL(window.location.href);
    if (code) url.searchParams.set('district', code);
    else url.searchParams.delete('district');
    return url.toString();
  }

  const districts = {
    list: [],
    layer: null,

    init(map) {
      this.map = map;
      this.layer = L.featureGroup();
      OC.on('auth', async (user) => {
        // the login answer does not carry the account's district: /api/auth/me does
        if (user && !('district_code' in user) && !user.checkedDistrict) {
          const res = await fetch('/api/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
          const me = res.ok ? await res.json() : {};
          user.checkedDistrict = true;
          if (me.district_code) user.district_code = me.district_code;
        }
        const own = user && user.district_code;
        if (own && own !== OC.state.district) window.location.replace(urlFor(own));
        this._picker();
      });
    },

    /** Fetch the districts, draw their boundaries, fit the map, show the picker. */
    async load() {
      const doc = await OC.api('/districts');
      this.list = doc.districts;
      const shown = this.list.filter((d) => !OC.state.district || d.code === OC.state.district);
      this.layer.clearLayers();
      shown.forEach((d) => {
        this.layer.addLayer(L.geoJSON(d.geometry, {
          coordsToLatLng: OC.coordsToLatLng, interactive: false,
          style: { color: '#ffd54a', weight: 2.5, fill: false, opacity: 0.9 },
        }));
      });
      this.layer.addTo(this.map);
      this.layer.bringToBack();
      if (shown.length && (OC.state.district || this.list.length > 1)) {
        const b = shown.map((d) => d.bbox).reduce((a, c) => [Math.min(a[0], c[0]), Math.min(a[1], c[1]), Math.max(a[2], c[2]), Math.max(a[3], c[3])]);
        this.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], OC.fitPadding);
      }
      const current = this.list.find((d) => d.code === OC.state.district);
      if (current) document.title = `${current.name} · ${document.title}`;
      this._picker();
    },

    /** The header's district select: only for more than one district and a city-wide user. */
    _picker() {
      let box = document.getElementById('oc-district');
      const user = OC.auth && OC.auth.user;
      const show = this.list.length > 1 && !(user && user.district_code);
      if (!show) { if (box) box.remove(); return; }
      if (box) return;
      const options = [['', '全市 Whole city'], ...this.list.map((d) => [d.code, `${d.name} ${d.code}`])]
        .map(([code, label]) => `<option value="${OC.esc(code)}" ${code === (OC.state.district || '') ? 'selected' : ''}>${OC.esc(label)}</option>`)
        .join('');
      document.querySelector('#oc-header .oc-title').insertAdjacentHTML('afterend',
        `<select id="oc-district" class="oc-button" title="区县 District">${options}</select>`);
      box = document.getElementById('oc-district');
      box.addEventListener('change', () => window.location.assign(urlFor(box.value)));
    },

    state() {
      return { district: OC.state.district, districts: this.list.map((d) => d.code), boundaries: this.layer ? this.layer.getLayers().length : 0 };
    },
  };
  OC.districts = districts;
})();
