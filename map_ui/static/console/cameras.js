/*
 * Cameras, clustered (Leaflet.markercluster): 20,000 points stay fluid because
 * only clusters are drawn until zoom 17. A cluster's ring shows the share of
 * online / offline / fault cameras in it, coloured from the registry palette.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const ID = 'cameras';

  function clusterIcon(cluster) {
    const markers = cluster.getAllChildMarkers();
    const counts = {};
    markers.forEach((m) => (counts[m.options.status] = (counts[m.options.status] || 0) + 1));
    const palette = OC.layerCfg(ID).style.palette;
    let at = 0;
    const stops = Object.keys(palette).filter((s) => counts[s]).map((s) => {
      const from = at;
      at += (counts[s] / markers.length) * 360;
      return `${palette[s]} ${from}deg ${at}deg`;
    });
    const n = markers.length;
    const size = n < 100 ? 34 : n < 1000 ? 42 : 50;
    return L.divIcon({
      className: 'oc-cluster',
      html: `<div style="background:conic-gradient(${stops.join(',')})"><span>${n}</span></div>`,
      iconSize: L.point(size, size),
    });
  }

  function popupHtml(c) {
    const link = c.stream_url
      ? `<p><a class="oc-button" href="${OC.esc(c.stream_url)}" target="_blank" rel="noopener">▶ 播放视频 <span class="oc-en">Play stream</span></a></p>`
      : '';
    return OC.popup(ID, `${OC.esc(c.name)} <span class="oc-en">${OC.esc(c.code)}</span>`, c, ['code', 'kind', 'status', 'grid_code'], link);
  }

  const cameras = {
    data: [],
    index: {},
    icons: {},
    init(map) {
      this.map = map;
      this.group = L.markerClusterGroup({
        chunkedLoading: true,
        chunkInterval: 400, // long chunks: fewer yields, all 20,000 in well under a second
        chunkDelay: 10,
        disableClusteringAtZoom: 17,
        maxClusterRadius: 70,
        showCoverageOnHover: false,
        spiderfyOnMaxZoom: false,
        iconCreateFunction: clusterIcon,
      });
      OC.registerLayer(ID, this.group);
      OC.on('variant', () => this.render());
    },
    icon(status) {
      if (!this.icons[status]) {
        const c = OC.colorOf(ID, { status });
        this.icons[status] = L.divIcon({ className: 'oc-cam', html: `<i style="background:${c}"></i>`, iconSize: L.point(12, 12) });
      }
      return this.icons[status];
    },
    load() {
      return OC.apiFresh('/layers/' + ID).then((doc) => {
        this.etag = doc.etag;
        this.data = OC.rows(doc.body);
        return this.render();
      });
    },
    /** Redraw if any camera changed on the server (status, new points); true when it did. */
    async refresh() {
      const doc = await OC.apiFresh('/layers/' + ID, this.etag);
      if (!doc) return false;
      this.etag = doc.etag;
      this.data = OC.rows(doc.body);
      await this.render();
      this.refreshed = (this.refreshed || 0) + 1;
      return true;
    },
    /** (Re)build the markers; resolves when the cluster group has taken them all. */
    render() {
      this.group.clearLayers();
      this.index = {};
      const markers = this.data.map((c) => {
        const m = L.marker(OC.toLatLng(c.lon, c.lat), { icon: this.icon(c.status), status: c.status, keyboard: false });
        m.bindPopup(() => popupHtml(c));
        this.index[c.code] = m;
        return m;
      });
      return new Promise((resolve) => {
        if (!markers.length) return resolve();
        const onMap = this.map.hasLayer(this.group);
        this.group.options.chunkProgress = (done, total) => { if (done >= total) resolve(); };
        this.group.addLayers(markers);
        if (!onMap) resolve();
      });
    },
    count() {
      return this.group.getLayers().length;
    },
    open(code) {
      const m = this.index[code];
      if (!m) return false;
      if (!this.map.hasLayer(this.group)) this.map.addLayer(this.group);
      this.group.zoomToShowLayer(m, () => m.openPopup());
      return true;
    },
  };
  OC.cameras = cameras;
})();
