"""Write a GeoJSON FeatureCollection (WGS84) as a natural-resources bureau delivers it, with GDAL
(pyogrio) and PROJ (pyproj), for tests/it/gauss_kruger.rs:

usage: bureau_files.py IN.geojson OUT_DIR

- towns_4549.shp: EPSG:4549 (CGCS2000 3-degree GK, 120E), attributes in GBK (.cpg says so), .prj
- towns_4528.shp: EPSG:4528 (the same zone, eastings with the zone number 40)
- towns_4549.gpkg: layer "towns" in EPSG:4549
- towns_4549.geojson: GDAL's GeoJSON in EPSG:4549 (with its "crs" member)
"""
import json
import os
import sys

import numpy as np
import pyogrio.raw
from pyproj import Transformer
import shapely
from shapely.geometry import shape


def main(source, out):
    features = json.load(open(source, encoding="utf-8"))["features"]
    names = sorted({k for f in features for k in f["properties"]})
    fields = [np.array([str(f["properties"].get(k) or "") for f in features], dtype=object) for k in names]
    for epsg, files in [(4549, ["towns_4549.shp", "towns_4549.gpkg", "towns_4549.geojson"]), (4528, ["towns_4528.shp"])]:
        to = Transformer.from_crs(4326, epsg, always_xy=True)
        project = lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1]))
        geometry = np.array([shapely.to_wkb(shapely.transform(shape(f["geometry"]), project)) for f in features], dtype=object)
        for name in files:
            path = os.path.join(out, name)
            driver = {"shp": "ESRI Shapefile", "gpkg": "GPKG", "geojson": "GeoJSON"}[name.rsplit(".", 1)[1]]
            options = {"encoding": "GBK"} if driver == "ESRI Shapefile" else {}
            pyogrio.raw.write(path, geometry, fields, fields=names, crs=f"EPSG:{epsg}", driver=driver,
                              geometry_type="MultiPolygon", layer="towns" if driver == "GPKG" else None, **options)


if __name__ == "__main__":
    main(*sys.argv[1:3])
