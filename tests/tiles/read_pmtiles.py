#!/usr/bin/env python3
"""Read a PMTiles archive with the independent `pmtiles` package (PyPI, by Protomaps).

Usage: read_pmtiles.py FILE
Prints one JSON line for the header and metadata (all of it under "metadata"), then one per
tile: {"z", "x", "y", "hex"} with the tile's uncompressed bytes.
"""
import gzip
import json
import sys

from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression


def main(path):
    with open(path, "r+b") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        metadata = reader.metadata()
        print(json.dumps({
            "min_zoom": header["min_zoom"],
            "max_zoom": header["max_zoom"],
            "tile_type": int(header["tile_type"].value),
            "tile_compression": int(header["tile_compression"].value),
            "addressed_tiles_count": header["addressed_tiles_count"],
            "vector_layers": [layer["id"] for layer in metadata.get("vector_layers", [])],
            "metadata": metadata,
        }))
        gzipped = header["tile_compression"] == Compression.GZIP
        for (z, x, y), data in all_tiles(MmapSource(f)):
            raw = gzip.decompress(data) if gzipped else data
            print(json.dumps({"z": z, "x": x, "y": y, "hex": raw.hex()}))


if __name__ == "__main__":
    main(sys.argv[1])
