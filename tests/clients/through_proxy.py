"""gridmap behind a reverse proxy on a path prefix that terminates TLS (proxy.py, with a
certificate made here for 127.0.0.1 and trusted by every client below; it adds X-Forwarded-Proto
https, -Host and -Prefix): every link names the public URL, and GDAL reads every page through it.

usage: through_proxy.py BASE_URL WORK_DIR

- every link of the landing page, collections, a collection, items, the next page, a feature, the
  TileJSON tile URLs and the OpenAPI server URL starts with https://<proxy host>/gridmap/, and a
  browser's / is redirected to https://<proxy host>/gridmap/map;
- GDAL follows those links for real: ogrinfo (Debian's 3.6) and pyogrio (3.12) list, count and
  read over https through the proxy, and the proxy's log shows the last page of a many-page read
  went through it (GDAL only knows that page from the next links).
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pyogrio
import pyogrio.raw

from common import Sections, check, fetch, get_json, health, trust

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "/gridmap"


def self_signed(work):
    """A certificate for 127.0.0.1 (and its key), made with openssl and trusted by the clients."""
    cert, key = os.path.join(work, "proxy-cert.pem"), os.path.join(work, "proxy-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


@contextmanager
def proxy(base, log, cert, key):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "proxy.py"), base, PREFIX, log, cert, key],
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
    public = entry = f"https://{host}{PREFIX}"
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


def gdal_reads_through_it(host, base, log, cert):
    source = f"OAPIF:https://{host}{PREFIX}"
    counts = health(base)
    # GDAL's curl verifies the proxy's certificate against this bundle (no "unsafe SSL").
    # GDAL_CURL_CA_BUNDLE comes first in GDAL, and importing pyogrio sets it to certifi's.
    bundle = {"GDAL_CURL_CA_BUNDLE": cert, "CURL_CA_BUNDLE": cert}
    env = dict(os.environ, **bundle)
    pyogrio.set_gdal_config_options(bundle)
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", source], capture_output=True, text=True, env=env)
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
                         capture_output=True, text=True, env=env)
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
    cert, key = self_signed(work)
    trust(cert)
    log = os.path.join(work, "proxy.log")
    with proxy(base, log, cert, key) as host:
        s.run("links name https://<host>/gridmap/", links_name_the_public_url, host)
        s.run("GDAL reads over https through the proxy", gdal_reads_through_it, host, base, log, cert)
    s.finish()


if __name__ == "__main__":
    main(*sys.argv[1:3])
