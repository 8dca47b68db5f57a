#!/usr/bin/env python3
"""Open a vector tile set with GDAL through pyogrio (PyPI, which bundles its own GDAL, 3.12 for
pyogrio 0.13) and report how GDAL sees it. Used by tests/it/archive.rs and tests/it/tiles.rs.

Usage: gdal_read.py SOURCE [LAYER...]   (a .pmtiles file, or MVT:/vsicurl/http://host/tiles/Z)
Prints one JSON object: {"gdal": version, "layers": {name: geometry type}, "read": {layer:
{"geometry_type", "fields": {name: dtype}, "features", "geometries": {type: count}}}} for each
LAYER named, whose features are all read.
"""
import collections
import json
import sys
import warnings

import pyogrio
import pyogrio.raw
import shapely


def main(source, layers):
    # An empty tile (HTTP 204) is a warning in GDAL; it is not what is being checked here.
    warnings.simplefilter("ignore", RuntimeWarning)
    out = {
        "gdal": pyogrio.__gdal_version_string__,
        "layers": {str(name): str(kind) for name, kind in pyogrio.list_layers(source)},
        "read": {},
    }
    for layer in layers:
        info = pyogrio.read_info(source, layer=layer)
        meta, _, geometries, _ = pyogrio.raw.read(source, layer=layer)
        kinds = collections.Counter(shapely.from_wkb(g).geom_type for g in geometries)
        out["read"][layer] = {
            "geometry_type": info["geometry_type"],
            "fields": {str(f): str(d) for f, d in zip(info["fields"], info["dtypes"])},
            "features": len(geometries),
            "geometries": dict(kinds),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
