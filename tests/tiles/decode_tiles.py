#!/usr/bin/env python3
"""Decode Mapbox Vector Tiles with an independent decoder (PyPI mapbox-vector-tile) and check the
geometry with shapely. Used by tests/it/tiles.rs.

Usage: decode_tiles.py DIR   (files named Z-X-Y.mvt)
Prints one JSON object per tile: {"tile": "z-x-y", "layers": {name: [feature, ...]}} where each
feature is {"id", "type", "properties", "valid", "winding_ok", "point" or "vertices" and "area"}
("point" for points, in tile units, y down; "vertices" for polygons, the positions in all rings;
"area" their area in square tile units, by shapely).
"""
import json
import pathlib
import sys

import mapbox_vector_tile
from shapely.geometry import shape


def shoelace(ring):
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]))


def main(directory):
    for path in sorted(pathlib.Path(directory).glob("*.mvt")):
        tile = mapbox_vector_tile.decode(path.read_bytes(), default_options={"y_coord_down": True})
        out = {}
        for name, layer in tile.items():
            if layer.get("extent") != 4096:
                raise SystemExit(f"{path.name} {name}: extent {layer.get('extent')}")
            features = []
            for f in layer["features"]:
                g = f["geometry"]
                item = {"id": f.get("id"), "type": g["type"], "properties": f["properties"]}
                if g["type"] in ("Polygon", "MultiPolygon"):
                    polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
                    # MVT 2.1, 4.3.4.4: exterior rings are clockwise in y-down tile coordinates
                    # (positive shoelace sum), interior rings counter-clockwise.
                    item["winding_ok"] = all(
                        shoelace([tuple(c) for c in ring]) * (1 if i == 0 else -1) > 0
                        for polygon in polygons
                        for i, ring in enumerate(polygon)
                    )
                    item["valid"] = bool(shape(g).is_valid) and not shape(g).is_empty
                    item["vertices"] = sum(len(ring) for polygon in polygons for ring in polygon)
                    item["area"] = float(shape(g).area)
                elif g["type"] == "Point":
                    item["point"] = g["coordinates"]
                    item["valid"] = True
                    item["winding_ok"] = True
                else:
                    item["valid"] = False
                    item["winding_ok"] = False
                features.append(item)
            out[name] = features
        print(json.dumps({"tile": path.stem, "layers": out}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
