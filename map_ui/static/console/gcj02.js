/*
 * WGS84 → GCJ-02 ("Mars" coordinates) for overlays on GCJ-02 basemaps.
 *
 * Chinese commercial tiles (AMap and its intranet mirrors) are drawn in GCJ-02,
 * a deliberately obfuscated datum a few hundred metres off WGS84. onemap stores
 * WGS84, so when such a basemap is active the console shifts every overlay
 * coordinate forward; clicks are shifted back with an iterative inverse.
 */
(function () {
  'use strict';
  const OC = (window.OnemapConsole = window.OnemapConsole || {});
  const A = 6378245.0;
  const EE = 0.00669342162296594323;
  const PI = Math.PI;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function transformLat(x, y) {
    let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += ((20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2) / 3;
    r += ((20 * Math.sin(y * PI) + 40 * Math.sin((y / 3) * PI)) * 2) / 3;
    r += ((160 * Math.sin((y / 12) * PI) + 320 * Math.sin((y * PI) / 30)) * 2) / 3;
    return r;
  }

  function transformLon(x, y) {
    let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += ((20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2) / 3;
    r += ((20 * Math.sin(x * PI) + 40 * Math.sin((x / 3) * PI)) * 2) / 3;
    r += ((150 * Math.sin((x / 12) * PI) + 300 * Math.sin((x / 30) * PI)) * 2) / 3;
    return r;
  }

  /** [lon, lat] WGS84 → [lon, lat] GCJ-02 (identity outside China). */
  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    let dLat = transformLat(lon - 105, lat - 35);
    let dLon = transformLon(lon - 105, lat - 35);
    const radLat = (lat / 180) * PI;
    let magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    const sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * PI);
    dLon = (dLon * 180) / ((A / sqrtMagic) * Math.cos(radLat) * PI);
    return [lon + dLon, lat + dLat];
  }

  /** [lon, lat] GCJ-02 → WGS84 by fixed-point iteration (centimetre accuracy). */
  function gcjToWgs(lon, lat) {
    let w = [lon, lat];
    for (let i = 0; i < 6; i++) {
      const g = wgsToGcj(w[0], w[1]);
      w = [w[0] - (g[0] - lon), w[1] - (g[1] - lat)];
    }
    return w;
  }

  OC.gcj02 = { wgsToGcj, gcjToWgs, outOfChina };
})();
