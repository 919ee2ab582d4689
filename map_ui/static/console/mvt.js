/*
 * A large layer drawn from onemap's own vector tiles (OGC API - Tiles, MVT at
 * /ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}) with Leaflet.VectorGrid:
 * the browser holds only the tiles in view, so 200,000 cameras or 3 M events draw
 * as fast as 20,000 (the tiles cluster points at low zoom and carry the commonest
 * style value, so clusters are coloured like points). Filters go to the server as
 * the tiles' CQL2 `filter` and `datetime` parameters. Tiles are revalidated
 * (If-None-Match → 304) on every redraw, so a redraw after a change costs only the
 * tiles that changed; `refreshAt` refetches only the tiles holding given points
 * (a case changed on the live stream). The canvases take no pointer events: map
 * clicks are hit-tested against the drawn features (`OC.mvtClick`, asked by
 * pointquery.js). On a GCJ-02 basemap the layer's pane is shifted by the GCJ-02
 * offset at the map centre (it varies by metres across a district).
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});

  /** Dots grow on 4K video walls, as the type does. */
  OC.dotScale = () => (window.innerWidth >= 3000 ? 1.8 : 1);

  /** The pixel radius of a cluster of `n` points (a cluster of one is drawn as a point). */
  function clusterRadius(n) {
    return OC.dotScale() * Math.min(22, 5 + 2.4 * Math.log2(n));
  }

  class MvtLayer {
    /**
     * id: the collection; pointStyle(props, z): the VectorGrid style of one point;
     * onClick(props, latlng): a point was clicked (clusters zoom in by themselves).
     */
    constructor(map, id, pointStyle, onClick) {
      this.map = map;
      this.id = id;
      this.query = {};
      this.tileResponses = 0;
      this.redraws = 0;
      this.pane = map.createPane('oc-mvt-' + id);
      this.pane.style.zIndex = 450;
      const seq = { n: 0 };
      this.layer = L.vectorGrid.protobuf(this._url(), {
        pane: 'oc-mvt-' + id,
        rendererFactory: L.canvas.tile,
        // not interactive: a canvas tile of the upper layer would swallow every click on
        // the lower one; clicks are hit-tested here instead (OC.mvtClick, from pointquery.js)
        interactive: false,
        // 512 px tiles, each the server's tile of the zoom below: a quarter of the requests,
        // and the server's 64 cluster cells per tile side become 8 px on screen
        tileSize: 512,
        minZoom: 1,
        maxNativeZoom: 23,
        maxZoom: 23,
        fetchOptions: { cache: 'no-cache', credentials: 'same-origin' }, // revalidate: 304s are cheap
        getFeatureId: (f) => (f.properties.count !== undefined ? `~${seq.n++}` : f.properties.code),
        vectorTileLayerStyles: {
          [id]: (props, z) => {
            if (props.count === undefined || props.count === 1) return pointStyle(props, z);
            const fill = OC.colorOf(id, props);
            return { radius: clusterRadius(props.count), fill: true, fillColor: fill, fillOpacity: 0.55, color: fill, weight: 2, opacity: 0.95 };
          },
        },
      });
      const fetchTile = this.layer._getVectorTilePromise;
      this.layer._getVectorTilePromise = function (c) {
        const up = L.point(c.x, c.y);
        up.z = c.z - 1;
        return fetchTile.call(this, up);
      };
      this.layer.on('tileload', () => (this.tileResponses += 1));
      this.onClick = onClick;
      MvtLayer.stack.unshift(this); // the last made is drawn on top: hit-tested first
      const shift = () => this._shift();
      map.on('zoomend moveend', shift);
      OC.on('variant', shift);
    }

    _url() {
      const base = `${OC.state.cfg.ogc}/collections/${this.id}/tiles/WebMercatorQuad/{z}/{y}/{x}`;
      const q = new URLSearchParams();
      Object.entries(this.query).forEach(([k, v]) => { if (v) q.set(k, v); });
      const d = OC.state.district; // one district's features only (districts.js)
      if (d && /^\d{6}$/.test(d)) {
        const own = `district_code = '${d}'`;
        q.set('filter', q.get('filter') ? `(${q.get('filter')}) AND ${own}` : own);
      }
      const s = q.toString();
      return s ? `${base}?${s}` : base;
    }

    /** New tile query parameters (filter, datetime); resolves when the view is drawn again. */
    setQuery(query) {
      const next = JSON.stringify(query);
      if (next === JSON.stringify(this.query)) return this.redraw();
      this.query = Object.assign({}, query);
      this.layer.setUrl(this._url(), true);
      if (!this.map.hasLayer(this.layer)) return Promise.resolve();
      this.layer.redraw();
      return this.loaded();
    }

    /** Refetch the tiles in view (each revalidated: unchanged ones are 304). */
    redraw() {
      if (!this.map.hasLayer(this.layer)) return Promise.resolve();
      this.redraws += 1;
      this.layer.redraw();
      return this.loaded();
    }

    /**
     * Refetch only the tiles in view that hold one of `points` ([lon, lat] WGS84; a
     * point within the tiles' buffer of an edge counts for both sides): a case changed on
     * the live stream redraws its own tiles, not the screen. Resolves when they are drawn.
     */
    refreshAt(points) {
      if (!this.map.hasLayer(this.layer) || !points.length) return Promise.resolve();
      const size = this.layer.getTileSize();
      const z = Math.round(this.map.getZoom());
      const keys = new Set();
      points.forEach(([lon, lat]) => {
        const p = this.map.project(L.latLng(lat, lon), z);
        const pad = size.x * 64 / 4096; // the server's tile buffer, in pixels
        [-pad, pad].forEach((dx) => [-pad, pad].forEach((dy) => {
          const key = `${Math.floor((p.x + dx) / size.x)}:${Math.floor((p.y + dy) / size.y)}:${z}`;
          if (this.layer._tiles[key]) keys.add(key);
        }));
      });
      if (!keys.size) return Promise.resolve();
      const done = new Promise((resolve) => this.layer.once('load', resolve));
      keys.forEach((key) => {
        const coords = this.layer._tiles[key].coords;
        this.layer._removeTile(key);
        this.layer._addTile(coords, this.layer._level.el);
      });
      this.refreshedTiles = (this.refreshedTiles || 0) + keys.size;
      return done.then(OC.painted);
    }

    /**
     * Has the layer changed on the server since the last call? The probe is one empty
     * tile far from the district (z20, 0/0): an index probe to build, and its ETag moves
     * with the layer's version (If-None-Match → 304 while it does not). The first call
     * notes the version and answers false.
     */
    async changed() {
      const url = `${OC.state.cfg.ogc}/collections/${this.id}/tiles/WebMercatorQuad/20/0/0`;
      const headers = this.etag ? { 'If-None-Match': this.etag } : {};
      const res = await fetch(url, { headers, cache: 'no-store' });
      if (res.status === 304) return false;
      const first = this.etag === undefined;
      this.etag = res.headers.get('ETag');
      return !first;
    }

    /** Resolves when the tiles in view are drawn, without asking for them again. */
    whenDrawn() {
      return this.loaded().then(OC.painted);
    }

    /** Resolves once every tile in view is drawn (at once when the layer is off or idle). */
    loaded() {
      if (!this.map.hasLayer(this.layer) || !this.layer.isLoading()) return Promise.resolve();
      return new Promise((resolve) => this.layer.once('load', () => OC.painted().then(resolve)));
    }

    /** The tiles of the current zoom that are drawn: [{coords, features}]. */
    _tiles() {
      const z = this.map.getZoom();
      return Object.entries(this.layer._tiles || {})
        .filter(([, t]) => t.coords.z === Math.round(z) && t.loaded)
        .map(([key]) => this.layer._vectorTiles[key])
        .filter(Boolean);
    }

    /** Points drawn in view: each point once, a cluster as its count. */
    count() {
      if (!this.map.hasLayer(this.layer)) return 0;
      const seen = new Set();
      let n = 0;
      this._tiles().forEach((renderer) => {
        Object.entries(renderer._features || {}).forEach(([fid, f]) => {
          const p = f.feature.properties;
          if (p.count !== undefined) n += p.count;
          else if (!seen.has(fid)) { seen.add(fid); n += 1; }
        });
      });
      return n;
    }

    /** Features drawn in view with their properties: {code: props} (points, not clusters). */
    drawn() {
      const out = {};
      this._tiles().forEach((renderer) => {
        Object.values(renderer._features || {}).forEach((f) => {
          const p = f.feature.properties;
          if (p.count === undefined) out[p.code] = p;
        });
      });
      return out;
    }

    /** Clusters drawn in view (their count). */
    clusters() {
      let n = 0;
      this._tiles().forEach((r) => Object.values(r._features || {}).forEach((f) => { if (f.feature.properties.count !== undefined) n += 1; }));
      return n;
    }

    /** One feature from the items (all its public properties): {props, lon, lat}. */
    async feature(code) {
      const url = `${OC.state.cfg.ogc}/collections/${this.id}/items/${encodeURIComponent(code)}?f=json`;
      const res = await fetch(url, { headers: { Accept: 'application/geo+json' } });
      if (!res.ok) throw new Error(`${this.id} ${code}: HTTP ${res.status}`);
      const f = await res.json();
      const [lon, lat] = f.geometry.coordinates;
      return { props: Object.assign({ code: f.id }, f.properties), lon, lat };
    }

    /** Open a popup at `latlng` whose body comes from the feature's item. */
    popup(code, latlng, html) {
      const p = L.popup({ maxWidth: 360 }).setLatLng(latlng)
        .setContent('<div class="oc-popup"><p class="oc-muted">…</p></div>').openOn(this.map);
      return this.feature(code).then((f) => { p.setContent(html(f.props)); return f; })
        .catch((e) => OC.reportError(this.id, e));
    }

    /** Fly to a feature by code and open its popup (search); false when it is not found. */
    async open(code, minZoom, html) {
      const f = await this.feature(code).catch(() => null);
      if (!f) return false;
      if (!this.map.hasLayer(this.layer)) this.map.addLayer(this.layer);
      const ll = OC.toLatLng(f.lon, f.lat);
      this.map.setView(ll, Math.max(this.map.getZoom(), minZoom));
      L.popup({ maxWidth: 360 }).setLatLng(ll).setContent(html(f.props)).openOn(this.map);
      return true;
    }

    /** Shift the pane by the GCJ-02 offset at the map centre (none on a WGS84 basemap). */
    _shift() {
      this.shiftPx = L.point(0, 0);
      if (OC.state.variant !== 'gcj02') { this.pane.style.transform = ''; return; }
      const c = OC.fromLatLng(this.map.getCenter());
      const a = this.map.latLngToLayerPoint(L.latLng(c[1], c[0]));
      const b = this.map.latLngToLayerPoint(OC.toLatLng(c[0], c[1]));
      this.shiftPx = b.subtract(a);
      this.pane.style.transform = `translate(${this.shiftPx.x}px, ${this.shiftPx.y}px)`;
    }

    /** The drawn feature under a container point (nearest within its radius + 3 px), or null. */
    hit(containerPoint) {
      if (!this.map.hasLayer(this.layer)) return null;
      const z = Math.round(this.map.getZoom());
      const at = this.map.containerPointToLayerPoint(containerPoint).add(this.map.getPixelOrigin())
        .subtract(this.shiftPx || L.point(0, 0));
      let best = null;
      this._tiles().forEach((r) => {
        if (r._tileCoord.z !== z) return;
        const origin = r._tileCoord.scaleBy(r._size);
        Object.values(r._features || {}).forEach((f) => {
          const d = origin.add(f.feature._point).distanceTo(at);
          if (d <= (f.feature._radius || 4) + 3 && (!best || d < best.d)) best = { d, f: f.feature };
        });
      });
      return best && best.f;
    }

    /** A map click on one of the layer's features: a cluster zooms in, a point opens its popup. */
    click(e) {
      const f = this.hit(e.containerPoint);
      if (!f) return false;
      const props = f.properties;
      if (props.count > 1) this.map.setView(e.latlng, Math.min(this.map.getZoom() + 2, 19));
      else if (props.code !== undefined) this.onClick(props, e.latlng);
      else this.map.setView(e.latlng, Math.min(this.map.getZoom() + 2, 19)); // a cluster of one
      return true;
    }
  }
  MvtLayer.stack = [];

  /** A map click: handled by the topmost vector-tile layer with a feature there (true), else false. */
  OC.mvtClick = (e) => MvtLayer.stack.some((layer) => layer.click(e));

  OC.MvtLayer = MvtLayer;
})();
