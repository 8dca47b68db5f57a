// The datum the page draws and asks in: /map/config.json `crs`, from `serve --basemap-crs`.
// wgs84, or gcj02 over an AMap or Tencent basemap: then the page draws the GCJ-02 tile set and
// every request that gives or gets coordinates goes through `api`, which adds crs=gcj02, so
// clicks, answers and drawn overlays are all in the basemap's datum.

let crs = 'wgs84';

export function setCrs(name) {
  crs = name || 'wgs84';
}

export function mapCrs() {
  return crs;
}

export function api(url) {
  return crs === 'wgs84' ? url : `${url}${url.includes('?') ? '&' : '?'}crs=${crs}`;
}
