/*
 * Start-up of the console: wires the modules to the Folium map, loads every
 * default layer, and exposes window.onemapConsole (stats(), ready) for tests,
 * the load benchmark and operators' scripts.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  window.addEventListener('error', (e) => OC.errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => OC.errors.push(String(e.reason)));

  function clock() {
    const el = document.getElementById('oc-clock');
    const tick = () => (el.textContent = OC.fmtTime(new Date().toISOString()));
    tick();
    setInterval(tick, 1000);
  }

  function fullscreen() {
    document.getElementById('oc-fullscreen').addEventListener('click', () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(() => {});
    });
  }

  /** Load one default layer: put it on the map first (cluster groups need a map), then fill it. */
  function loadLayer(map, id, loader) {
    const t0 = performance.now();
    if (OC.state.cfg.default_on.includes(id)) map.addLayer(OC.layers[id].layer);
    return loader().then(() => (OC.timings[id] = Math.round(performance.now() - t0)))
      .catch((e) => OC.reportError(id, e));
  }

  OC.timings = {};

  OC.start = function (map, cfg) {
    OC.state.cfg = cfg;
    OC.state.map = map;
    document.body.classList.add('oc-bigscreen');
    document.body.insertAdjacentHTML('beforeend', '<div id="oc-toast" hidden></div>');
    const [minx, miny, maxx, maxy] = cfg.extent;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    OC.fitPadding = { paddingTopLeft: [20 * rem, 4 * rem], paddingBottomRight: [25 * rem, 4.5 * rem] };
    map.fitBounds([[miny, minx], [maxy, maxx]], OC.fitPadding);
    L.control.zoom({ position: 'bottomleft' }).addTo(map);
    const zoomClass = () => map.getContainer().classList.toggle('oc-far', map.getZoom() < 13);
    map.on('zoomend', zoomClass);
    zoomClass();

    [OC.districts, OC.areas, OC.cameras, OC.vehicles, OC.events, OC.tracks, OC.replay, OC.fleet, OC.workers, OC.live, OC.geofences].forEach((m) => m.init(map));
    const basemapDone = OC.basemap.init(map);
    new OC.GroupedControl().addTo(map);
    OC.panel.init();
    OC.search.init(map);
    OC.pointQuery.init(map);
    OC.dispatch.init();
    OC.charts.init();
    OC.auth.init();
    OC.editing.init(map);
    clock();
    fullscreen();

    const loads = [
      basemapDone,
      OC.districts.load().catch((e) => OC.reportError('districts', e)),
      loadLayer(map, 'towns', () => OC.areas.load('towns')),
      loadLayer(map, 'grids', () => OC.areas.load('grids')),
      loadLayer(map, 'river_patrol_zones', () => OC.areas.load('river_patrol_zones')),
      loadLayer(map, 'cameras', () => OC.cameras.load()),
      loadLayer(map, 'vehicles', () => OC.vehicles.load()),
      loadLayer(map, 'events', () => OC.events.load()),
      loadLayer(map, 'vehicle_tracks', () => Promise.resolve()),
      OC.panel.load().catch((e) => OC.reportError('stats', e)),
    ];
    const ready = Promise.all(loads).then(OC.painted).then(() => {
      hook.ready = true;
      hook.readyMs = Math.round(performance.now());
      document.body.dataset.ready = '1';
      // other screens' edits: each poll is a 304 until a layer changes on the server
      setInterval(() => hook.refreshLayers().catch((e) => OC.reportError('layers', e)), OC.state.cfg.refresh_ms.layers);
    });

    const hook = {
      map,
      ready: false,
      readyMs: null,
      whenReady: ready,
      /** Redraw the grids, patrol zones and cameras that changed on the server. */
      refreshLayers() {
        return Promise.all([OC.areas.refresh('grids'), OC.areas.refresh('river_patrol_zones'), OC.cameras.refresh()]);
      },
      /** What is drawn now: counts per layer, refresh counters, errors. */
      stats() {
        const on = Object.keys(OC.layers).filter((id) => map.hasLayer(OC.layers[id].layer));
        return {
          ready: hook.ready,
          readyMs: hook.readyMs,
          timings: Object.assign({}, OC.timings),
          on,
          variant: OC.state.variant,
          basemap: OC.basemap.current,
          counts: {
            towns: OC.areas.counts.towns,
            grids: OC.areas.counts.grids,
            grid_labels: OC.areas.labelCount(),
            river_patrol_zones: OC.areas.counts.river_patrol_zones,
            cameras: OC.cameras.count(),
            vehicles: OC.vehicles.count(),
            events: OC.events.count(),
            events_total: OC.events.total,
            heat_points: OC.events.data.length,
          },
          // the large layers' vector tiles: tile responses drawn, clusters in view, redraws
          tiles: Object.fromEntries(['cameras', 'events'].map((id) => [id, {
            responses: OC[id].tiles.tileResponses, clusters: OC[id].tiles.clusters(),
            redraws: OC[id].tiles.redraws, query: OC[id].tiles.query,
          }])),
          vehicleRefreshes: OC.vehicles.refreshes,
          live: OC.live.state(),
          fleet: OC.fleet.counts,
          statsRefreshes: OC.panel.refreshes,
          layerRedraws: Object.assign({ cameras: OC.cameras.refreshed || 0 }, OC.areas.refreshed),
          track: OC.tracks.state(),
          replay: OC.replay.state(),
          lastSearch: OC.search.last,
          lastPoint: OC.pointQuery.last,
          errors: OC.errors.slice(),
          user: OC.auth.user ? { username: OC.auth.user.username, role: OC.auth.user.role } : null,
          editing: OC.editing.state(),
          dispatch: OC.dispatch.state(),
          charts: OC.charts.state(),
          districts: OC.districts.state(),
        };
      },
      search: (q) => OC.search.query(q).then((hits) => { if (hits.length) OC.search.select(hits[0]); return hits; }),
      pointQuery: (lon, lat) => OC.pointQuery.run(lon, lat),
      loadTrack: (vehicle, day) => OC.tracks.load(vehicle, day),
      tracks: OC.tracks,
      replay: OC.replay,
      events: OC.events,
      setBasemap: (id) => OC.basemap.select(id),
      setVariant: (v) => OC.basemap.setVariant(v),
      auth: OC.auth,
      editing: OC.editing,
      dispatch: OC.dispatch,
    };
    window.onemapConsole = hook;
  };
})();
