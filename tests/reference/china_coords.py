"""Reference GCJ-02 and BD-09 conversions from the PyPI package coordtransform (module
coordTransform), for tests/it/gcj02.rs: N seeded points across China's GCJ-02 domain, one JSON
line each: [wgs_lon, wgs_lat, gcj_lon, gcj_lat, bd_lon, bd_lat, gcj_to_wgs_lon, gcj_to_wgs_lat]
(the last pair is the package's own one-step inverse, to compare ours with)."""
import json
import random
import sys

import coordTransform as ct

count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
rng = random.Random(16)
for _ in range(count):
    # Inside the package's domain (73.66-135.05 E, 3.86-53.55 N), which lies within ours.
    lon = rng.uniform(73.7, 135.0)
    lat = rng.uniform(3.9, 53.5)
    gcj = ct.wgs84_to_gcj02(lon, lat)
    bd = ct.wgs84_to_bd09(lon, lat)
    back = ct.gcj02_to_wgs84(*gcj)
    print(json.dumps([lon, lat, gcj[0], gcj[1], bd[0], bd[1], back[0], back[1]]))
