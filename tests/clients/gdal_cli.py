"""Debian's GDAL 3.6 (`ogrinfo`, `ogr2ogr`) reads gridmap through its OAPIF driver.

usage: gdal_cli.py BASE_URL SERVER_LOG WORK_DIR

Checks: every collection listed and counted as /health counts it; an ogr2ogr copy of all of them
to a GeoPackage holding exactly the features a plain read returns (read back with sqlite3, not
GDAL); an attribute filter and a spatial filter answered on the server (every items request the
server logged carried them) and equal to a brute-force filter of all features.
"""

import json
import os
import sqlite3
import subprocess
import sys

from shapely.geometry import box, shape

from common import KEYS, ServerLog, all_features, assert_pushed, check, health, keys_where


def run(args):
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    check(out.returncode == 0, f"{' '.join(args)} exited {out.returncode}: {out.stderr}")
    check("ERROR" not in out.stderr, f"{' '.join(args)}: {out.stderr}")
    return out.stdout


def ogrinfo_counts(text):
    counts, layer = {}, None
    for line in text.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1].strip()
        if line.startswith("Feature Count: ") and layer:
            counts[layer] = int(line.split(": ", 1)[1])
    return counts


def read_geojson(source, layer, *options):
    """A layer through ogr2ogr as GeoJSON (standard output), filtered by `options`."""
    text = run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", source, layer, *options])
    return json.loads(text)["features"]


def main(base, log_path, work):
    source = f"OAPIF:{base}"
    log = ServerLog(log_path)
    expected = health(base)

    # List and count every collection.
    counts = ogrinfo_counts(run(["ogrinfo", "-ro", "-so", "-al", source]))
    check(counts == expected, f"ogrinfo counts {counts} != /health {expected}")

    # Copy everything to a GeoPackage; read it back with SQLite itself.
    copy = os.path.join(work, "copy-gdal36.gpkg")
    run(["ogr2ogr", "-f", "GPKG", copy, source])
    plain = {c: all_features(base, c) for c in expected}
    with sqlite3.connect(copy) as db:
        tables = {r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")}
        for collection, n in expected.items():
            key = KEYS[collection]
            if n == 0 and collection not in tables:
                continue  # a staff layer, empty for the public: nothing to copy
            got = sorted(str(r[0]) for r in db.execute(f'SELECT "{key}" FROM "{collection}"'))
            check(len(got) == n, f"{collection}: the copy holds {len(got)}, /health says {n}")
            want = keys_where(plain[collection], collection, lambda f: True)
            check(got == want, f"{collection}: the copy's {key}s differ from a plain read")

    # An attribute filter on text, answered by the server.
    villages = plain["villages"]
    town = villages[0]["properties"]["town_code"]
    log.restart()
    got = read_geojson(source, "villages", "-where", f"town_code = '{town}'")
    want = keys_where(villages, "villages", lambda f: f["properties"]["town_code"] == town)
    check(sorted(f["properties"]["code"] for f in got) == want, f"villages of {town} differ")
    check(len(want) > 1, "the filter should select several villages")
    assert_pushed(log, "villages", f"town_code={town}", "-where town_code")

    # An integer filter, and an AND of two (both pushed, joined with &).
    grids = plain["grids"]
    households = grids[0]["properties"]["households"]
    log.restart()
    got = read_geojson(source, "grids", "-where", f"households = {households}")
    want = keys_where(grids, "grids", lambda f: f["properties"]["households"] == households)
    check(sorted(f["properties"]["code"] for f in got) == want, f"grids of {households} households")
    assert_pushed(log, "grids", f"households={households}", "-where households")
    village = grids[0]["properties"]["village_code"]
    log.restart()
    got = read_geojson(
        source, "grids", "-where", f"village_code = '{village}' AND households = {households}"
    )
    want = keys_where(
        grids,
        "grids",
        lambda f: f["properties"]["village_code"] == village
        and f["properties"]["households"] == households,
    )
    check(sorted(f["properties"]["code"] for f in got) == want, "AND filter differs")
    pushed = assert_pushed(log, "grids", f"village_code={village}", "-where ... AND ...")
    check(all(f"households={households}" in u for u in pushed), f"households not pushed: {pushed}")

    # A spatial filter: bbox on the server, equal to an exact intersection test of every grid.
    window = (119.55, 31.97, 119.60, 32.01)
    log.restart()
    got = read_geojson(source, "grids", "-spat", *map(str, window))
    area = box(*window)
    want = keys_where(grids, "grids", lambda f: shape(f["geometry"]).intersects(area))
    check(sorted(f["properties"]["code"] for f in got) == want, "-spat grids differ")
    check(0 < len(want) < len(grids), "the box should select some grids, not all")
    assert_pushed(log, "grids", "bbox=", "-spat")
    print(f"gdal 3.6: {sum(expected.values())} features copied, filters pushed", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
