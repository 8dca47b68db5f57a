"""gridmap behind a reverse proxy on a path prefix (proxy.py adds X-Forwarded-Proto, -Host and
-Prefix): every link names the public URL, and GDAL reads every page through the proxy.

usage: through_proxy.py BASE_URL WORK_DIR

Two proxies in front of the same server, both under /gridmap:
- one says the public scheme is https: no TLS is really there, so only the links can show it;
  every link of the landing page, collections, a collection, items, the next page, a feature, the
  TileJSON tile URLs and the OpenAPI server URL must start with https://<proxy host>/gridmap/;
- one says http, so that GDAL can follow those links for real: ogrinfo and pyogrio list, count
  and read through it, and the proxy's log shows the last page of a many-page read went through
  it (GDAL only knows that page from the next links).
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pyogrio
import pyogrio.raw

from common import Sections, check, fetch, get_json, health

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "/gridmap"


@contextmanager
def proxy(base, scheme, log):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "proxy.py"), base, scheme, PREFIX, log],
                         stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())  # printed once it listens
        yield f"127.0.0.1:{port}"
    finally:
        p.kill()
        p.wait()


def hrefs(doc):
    """Every `href` in a JSON document, at any depth."""
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k == "href" and isinstance(v, str)] + [
            h for v in doc.values() for h in hrefs(v)]
    if isinstance(doc, list):
        return [h for v in doc for h in hrefs(v)]
    return []


def links_name_the_public_url(host):
    public = f"https://{host}{PREFIX}"
    entry = f"http://{host}{PREFIX}"  # where the client really connects
    seen = []

    def read(path):
        doc = get_json(f"{entry}{path}")
        links = hrefs(doc)
        check(links, f"{path}: no links")
        seen.extend(links)
        return doc

    read("/")
    read("/collections")
    read("/collections/grids")
    page = read("/collections/grids/items?limit=5")
    nxt = [l["href"] for l in page["links"] if l["rel"] == "next"]
    check(len(nxt) == 1 and nxt[0].startswith(f"{public}/collections/grids/items?"), f"next {nxt}")
    read(nxt[0].replace(public, "", 1))
    code = page["features"][0]["id"]
    read(f"/collections/grids/items/{code}")
    wrong = [h for h in seen if not h.startswith(public + "/")]
    check(not wrong, f"links not under {public}/: {sorted(set(wrong))}")
    tiles = get_json(f"{entry}/tiles.json")["tiles"]
    check(all(t.startswith(f"{public}/tiles/") for t in tiles), f"tiles.json tiles {tiles}")
    servers = get_json(f"{entry}/openapi.json")["servers"]
    check(servers[0]["url"] == public, f"openapi servers {servers}")
    status, headers, _ = fetch(f"{entry}/?f=html")
    check(status == 303 and headers["Location"] == f"{public}/map",
          f"/?f=html -> {status} {headers.get('Location')}")


def gdal_reads_through_it(host, base, log):
    source = f"OAPIF:http://{host}{PREFIX}"
    counts = health(base)
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", source], capture_output=True, text=True)
    check(out.returncode == 0 and "ERROR" not in out.stderr, f"ogrinfo: {out.stderr}")
    got = {}
    for line in out.stdout.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1]
        if line.startswith("Feature Count: "):
            got[layer] = int(line.split(": ", 1)[1])
    check(got == counts, f"ogrinfo through the proxy {got} != {counts}")
    # GDAL 3.6 pages by 10: 229 villages are 23 pages, the last at offset 220.
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", source, "villages"],
                         capture_output=True, text=True)
    check(out.returncode == 0, f"ogr2ogr: {out.stderr}")
    check(len(json.loads(out.stdout)["features"]) == counts["villages"], "villages through the proxy")
    last = (counts["villages"] - 1) // 10 * 10
    with open(log) as f:
        forwarded = f.read().split()
    check(any(p.startswith(f"{PREFIX}/collections/villages/items?") and f"offset={last}" in p
              for p in forwarded), f"the last page (offset={last}) did not go through the proxy")
    meta, _, _, fields = pyogrio.raw.read(source, layer="grids")
    check(len(fields[0]) == counts["grids"], f"pyogrio read {len(fields[0])} grids through the proxy")


def main(base, work):
    s = Sections("proxy")
    with proxy(base, "https", os.path.join(work, "proxy-https.log")) as host:
        s.run("links name https://<host>/gridmap/", links_name_the_public_url, host)
    log = os.path.join(work, "proxy-http.log")
    with proxy(base, "http", log) as host:
        s.run("GDAL reads through the proxy", gdal_reads_through_it, host, base, log)
    s.finish()


if __name__ == "__main__":
    main(*sys.argv[1:3])
