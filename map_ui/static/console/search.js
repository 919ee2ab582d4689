/*
 * Search box: grid code or name, town, camera name, plate, case code, or a
 * coordinate "121.2,31.9" → fly there and open the popup of what was found.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const KINDS = {
    grid: ['网格', 'Grid'], town: ['镇街', 'Town'], camera: ['视频', 'Camera'], vehicle: ['车辆', 'Vehicle'],
    event: ['工单', 'Case'], coordinate: ['坐标', 'Coordinate'],
  };

  const search = {
    hits: [],
    last: null,
    init(map) {
      this.map = map;
      this.input = document.getElementById('oc-search-input');
      this.list = document.getElementById('oc-search-results');
      let timer = null;
      this.input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.query(this.input.value).catch((e) => OC.reportError('search', e)), 250);
      });
      this.input.addEventListener('keydown', async (e) => {
        if (e.key === 'Enter') {
          clearTimeout(timer);
          await this.query(this.input.value);
          if (this.hits.length) this.select(this.hits[0]);
        } else if (e.key === 'Escape') this.list.hidden = true;
      });
      this.list.addEventListener('click', (e) => {
        const li = e.target.closest('li[data-i]');
        if (li) this.select(this.hits[Number(li.dataset.i)]);
      });
    },
    async query(q) {
      q = (q || '').trim();
      if (!q) { this.hits = []; this.list.hidden = true; return []; }
      const doc = await OC.api('/search', { q });
      this.hits = doc.hits;
      this.list.innerHTML = doc.hits.length
        ? doc.hits.map((h, i) => `<li data-i="${i}"><span class="oc-tag">${OC.titleHtml(...KINDS[h.kind])}</span> ${OC.esc(h.label)}</li>`).join('')
        : '<li class="oc-muted">无结果 No match</li>';
      this.list.hidden = false;
      return doc.hits;
    },
    /** Fly to a hit and open its popup; coordinates run the point query. */
    select(hit) {
      this.list.hidden = true;
      this.last = hit;
      const ll = OC.toLatLng(hit.lon, hit.lat);
      let opened = false;
      if (hit.kind === 'grid') opened = OC.areas.openGrid(hit.code);
      else if (hit.kind === 'camera') opened = OC.cameras.open(hit.code);
      else if (hit.kind === 'vehicle') opened = OC.vehicles.open(hit.code);
      else if (hit.kind === 'event') opened = OC.events.open(hit.code);
      else if (hit.kind === 'town') {
        const b = OC.areas.townBounds(hit.code);
        if (b) { this.map.fitBounds(b); opened = true; }
      } else if (hit.kind === 'coordinate') {
        this.map.setView(ll, 16);
        OC.pointQuery.run(hit.lon, hit.lat);
        opened = true;
      }
      if (!opened) {
        this.map.setView(ll, 16);
        L.popup().setLatLng(ll).setContent(`<div class="oc-popup"><h4>${OC.titleHtml(...KINDS[hit.kind])}</h4><p>${OC.esc(hit.label)}</p></div>`).openOn(this.map);
      }
    },
  };
  OC.search = search;
})();
