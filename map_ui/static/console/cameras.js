/*
 * Cameras (视频监控) from the cameras' vector tiles (console/mvt.js): 20,000 or
 * 200,000 points cost the browser only the tiles in view. Up to the tiles'
 * clustering zoom a dot per cell, sized by its count and coloured by the cell's
 * commonest status (registry palette); beyond it one dot per camera coloured by
 * status. A click fetches the camera's item (all public properties) for the popup.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'cameras';

  function popupHtml(c) {
    const link = c.stream_url
      ? `<p><a class="oc-button" href="${OC.esc(c.stream_url)}" target="_blank" rel="noopener">▶ 播放视频 <span class="oc-en">Play stream</span></a></p>`
      : '';
    return OC.popup(ID, `${OC.esc(c.name)} <span class="oc-en">${OC.esc(c.code)}</span>`, c, ['code', 'kind', 'status', 'grid_code'], link);
  }

  const cameras = {
    init(map) {
      this.map = map;
      const r = OC.layerCfg(ID).style.radius;
      this.tiles = new OC.MvtLayer(map, ID, (p, z) => ({
        radius: OC.dotScale() * (z >= 16 ? r + 2 : r + 1), fill: true, fillColor: OC.colorOf(ID, p), fillOpacity: 0.95,
        color: '#0b1420', weight: 1, opacity: 0.9,
      }), (p, latlng) => this.tiles.popup(p.code, latlng, popupHtml));
      this.group = this.tiles.layer;
      OC.registerLayer(ID, this.group);
    },
    /** The tiles in view drawn (and the layer's version noted); resolves when they are. */
    load() {
      return Promise.all([this.tiles.changed(), this.tiles.whenDrawn()]);
    },
    /** Redraw if any camera changed on the server (status, new points); true when it did. */
    async refresh() {
      if (!(await this.tiles.changed())) return false;
      await this.tiles.redraw();
      this.refreshed = (this.refreshed || 0) + 1;
      return true;
    },
    count() {
      return this.tiles.count();
    },
    /** Properties of the cameras drawn one by one in view: {code: props}. */
    drawn() {
      return this.tiles.drawn();
    },
    open(code) {
      this.tiles.open(code, 17, popupHtml).catch((e) => OC.reportError(ID, e));
      return true;
    },
  };
  OC.cameras = cameras;
})();
