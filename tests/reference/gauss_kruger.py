"""Reference CGCS2000 Gauss-Kruger projections from PROJ (through pyproj), for
tests/it/gauss_kruger.rs: N seeded points spread over eight zones (3- and 6-degree, with and
without the zone number), each across its zone and China's latitudes, one JSON line each:
[epsg, lon, lat, easting, northing]."""
import json
import random
import sys

from pyproj import Transformer

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
rng = random.Random(4549)
zones = {4549: (120, 3), 4528: (120, 3), 4534: (75, 3), 4554: (135, 3),
         4491: (75, 6), 4501: (135, 6), 4502: (75, 6), 4509: (117, 6)}
transformers = {epsg: Transformer.from_crs(4490, epsg, always_xy=True) for epsg in zones}
for i in range(count):
    epsg = list(zones)[i % len(zones)]
    cm, width = zones[epsg]
    lon = cm + rng.uniform(-width / 2, width / 2)
    lat = rng.uniform(18.0, 53.5)
    e, n = transformers[epsg].transform(lon, lat)
    print(json.dumps([epsg, lon, lat, e, n]))
