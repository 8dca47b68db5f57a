#!/usr/bin/env python3
"""Draw the committed sample (geodata/*.geojson) to docs/sample-map.png for the README.

Needs matplotlib (pip install matplotlib). Not part of the test suite.
"""
import json
import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = pathlib.Path(__file__).resolve().parent.parent


def rings(geometry):
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        yield from polygon


def features(layer):
    return json.loads((root / "geodata" / f"{layer}.geojson").read_text())["features"]


fig, ax = plt.subplots(figsize=(9, 8))
for layer, width, colour in [("grids", 0.25, "#9aa5b1"), ("villages", 0.7, "#2f6db3"), ("towns", 1.6, "#111")]:
    for f in features(layer):
        for ring in rings(f["geometry"]):
            ax.plot([c[0] for c in ring], [c[1] for c in ring], lw=width, color=colour)
stations = features("stations")
ax.scatter([f["geometry"]["coordinates"][0] for f in stations], [f["geometry"]["coordinates"][1] for f in stations],
           s=6, c="#d62728", zorder=5, label="grid posts")
ax.set_aspect(1 / math.cos(math.radians(31.95)))
ax.set_title("gridmap sample: Danyang towns (black), villages (blue), grids (grey), posts (red)")
ax.legend(loc="lower left")
(root / "docs").mkdir(exist_ok=True)
fig.savefig(root / "docs" / "sample-map.png", dpi=80, bbox_inches="tight")
