"""GDAL 3.12 (bundled with pyogrio) reads gridmap through its OAPIF driver.

usage: gdal_pyogrio.py BASE_URL SERVER_LOG WORK_DIR

Checks: list_layers names every collection; read_info counts as /health does; raw.read of every
collection returns exactly the features a plain read returns; `where=` and `bbox=` are answered on
the server (every items request logged after the filter carried it) and equal a brute-force filter
of all features; raw.write of every collection to one GeoPackage keeps every feature (counts equal /health);
with the open option CRS=EPSG:4490 (OGC API - Features Part 2) GDAL asks for CGCS2000, the server
answers in it (Content-Crs, latitude first), and GDAL reads the same places, tagged EPSG:4490.
"""

import os
import sqlite3
import sys

import pyogrio
import pyogrio.raw
from shapely import from_wkb
from shapely.geometry import box, shape

from common import KEYS, ServerLog, all_features, assert_pushed, check, get_json, health, keys_where


def read_keys(source, collection, **filters):
    meta, _, geometry, fields = pyogrio.raw.read(source, layer=collection, **filters)
    column = list(meta["fields"]).index(KEYS[collection])
    return sorted(str(v) for v in fields[column]), meta, geometry, fields


def main(base, log_path, work):
    check(pyogrio.__gdal_version__ >= (3, 12, 0), f"GDAL {pyogrio.__gdal_version_string__}")
    source = f"OAPIF:{base}"
    log = ServerLog(log_path)
    expected = health(base)

    layers = [name for name, _ in pyogrio.list_layers(source)]
    check(sorted(layers) == sorted(expected), f"list_layers {layers} != {sorted(expected)}")
    plain = {c: all_features(base, c) for c in expected}
    for collection, n in expected.items():
        info = pyogrio.read_info(source, layer=collection, force_feature_count=True)
        check(info["features"] == n, f"{collection}: read_info {info['features']} != {n}")
        if n == 0:
            continue  # a staff layer, empty for the public: GDAL learns its fields from features
        check(KEYS[collection] in list(info["fields"]), f"{collection} fields: {info['fields']}")
        got, *_ = read_keys(source, collection)
        want = keys_where(plain[collection], collection, lambda f: True)
        check(got == want, f"{collection}: raw.read returned {len(got)} features, differing from a plain read")

    # where= on text, answered by the server.
    villages = plain["villages"]
    town = villages[-1]["properties"]["town_code"]
    log.restart()
    got, *_ = read_keys(source, "villages", where=f"town_code = '{town}'")
    want = keys_where(villages, "villages", lambda f: f["properties"]["town_code"] == town)
    check(got == want and len(want) > 1, f"villages of {town}: {len(got)} != {len(want)}")
    assert_pushed(log, "villages", f"town_code={town}", "where= town_code")

    # where= on another collection: the stations of one grid.
    stations = plain["stations"]
    grid = stations[0]["properties"]["grid_code"]
    log.restart()
    got, *_ = read_keys(source, "stations", where=f"grid_code = '{grid}'")
    want = keys_where(stations, "stations", lambda f: f["properties"]["grid_code"] == grid)
    check(got == want, f"stations of grid {grid}: {got} != {want}")
    assert_pushed(log, "stations", f"grid_code={grid}", "where= grid_code")

    # bbox=, equal to an exact intersection test of every grid.
    window = (119.40, 31.90, 119.50, 31.98)
    log.restart()
    got, *_ = read_keys(source, "grids", bbox=window)
    area = box(*window)
    grids = plain["grids"]
    want = keys_where(grids, "grids", lambda f: shape(f["geometry"]).intersects(area))
    check(got == want and 0 < len(want) < len(grids), f"bbox grids: {len(got)} != {len(want)}")
    assert_pushed(log, "grids", "bbox=", "bbox=")

    # CGCS2000 (EPSG:4490), offered in the collection's CRS list, asked for by GDAL and read back
    # in longitude, latitude order with the same coordinates (CGCS2000 is served as WGS84).
    offered = get_json(f"{base}/collections/stations")["crs"]
    check("http://www.opengis.net/def/crs/EPSG/0/4490" in offered, f"stations crs list: {offered}")
    log.restart()
    meta, _, geometry, fields = pyogrio.raw.read(source, layer="stations", CRS="EPSG:4490")
    check(meta["crs"] == "EPSG:4490", f"stations read in {meta['crs']}")
    assert_pushed(log, "stations", "crs=http", "crs=EPSG:4490")
    column = list(meta["fields"]).index(KEYS["stations"])
    by_key = {str(f["properties"][KEYS["stations"]]): f["geometry"]["coordinates"] for f in plain["stations"]}
    check(len(geometry) == len(by_key), f"stations in EPSG:4490: {len(geometry)} != {len(by_key)}")
    for k, g in zip(fields[column], geometry):
        p, want = from_wkb(g), by_key[str(k)]
        check(abs(p.x - want[0]) < 1e-9 and abs(p.y - want[1]) < 1e-9, f"station {k} in EPSG:4490: {p} != {want}")

    # raw.write every collection, as read, to one GeoPackage; SQLite counts each table's rows,
    # which must equal /health.
    copy = os.path.join(work, "copy-gdal312.gpkg")
    for collection, n in expected.items():
        if n == 0:
            continue  # nothing the public can copy
        keys, meta, geometry, fields = read_keys(source, collection)
        if collection != "alliances":  # an alliance of members without places has no footprint
            check(all(g is not None and from_wkb(g) is not None for g in geometry),
                  f"a feature of {collection} without geometry")
        pyogrio.raw.write(
            copy, geometry, fields, fields=meta["fields"], layer=collection, driver="GPKG",
            geometry_type=meta["geometry_type"], crs=meta["crs"],
        )
        with sqlite3.connect(copy) as db:
            rows = sorted(str(r[0]) for r in db.execute(f'SELECT "{KEYS[collection]}" FROM "{collection}"'))
        check(rows == keys and len(rows) == n, f"the written {collection} differ ({len(rows)} != {n})")
    print(f"gdal {pyogrio.__gdal_version_string__}: every collection read, filters pushed", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
