"""OWSLib (owslib.ogcapi.features.Features) reads gridmap as OGC API - Features.

usage: owslib_client.py BASE_URL

Checks: landing links, conformance classes, api() (found through the service-desc link of type
OpenAPI 3.0), collections, collection_items with bbox, limit and datetime, following next links to
the end (as many features as numberMatched, each once, equal to a brute-force filter of a plain
read), and collection_queryables typed as the features' values are.
"""

import sys
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

from owslib.ogcapi.features import Features
from shapely.geometry import box, shape

from common import KEYS, Sections, all_features, check, health, keys_where

CONF = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"


def next_link(page):
    links = [l for l in page.get("links", []) if l["rel"] == "next"]
    check(len(links) <= 1, f"several next links: {links}")
    return links[0]["href"] if links else None


def read_all(w, base, collection, **kwargs):
    """collection_items, then its `next` links to the end: (features, numberMatched)."""
    page = w.collection_items(collection, **kwargs)
    matched = page["numberMatched"]
    features = list(page["features"])
    while (href := next_link(page)) is not None:
        url = urlsplit(href)
        check(
            f"{url.scheme}://{url.netloc}{url.path}" == f"{base}/collections/{collection}/items",
            f"next link leaves the collection: {href}",
        )
        params = dict(parse_qsl(url.query))
        if "bbox" in params:  # collection_items joins a list itself
            params["bbox"] = params["bbox"].split(",")
        if "datetime" in params:
            params["datetime_"] = params.pop("datetime")
        page = w.collection_items(collection, **params)
        check(page["numberReturned"] == len(page["features"]), "numberReturned != features")
        features.extend(page["features"])
    return features, matched


def landing(w, base):
    rels = {l["rel"]: l for l in w.links}
    for rel in ["self", "service-desc", "conformance", "data"]:
        check(rel in rels, f"landing page lacks rel={rel}: {sorted(rels)}")
    check(rels["self"]["href"].startswith(base), f"self is {rels['self']['href']}")


def conformance(w):
    classes = w.conformance()["conformsTo"]
    for part, name in [(1, "core"), (1, "geojson"), (1, "oas30"), (2, "crs"),
                       (3, "queryables"), (3, "queryables-query-parameters")]:
        check(CONF.format(part, name) in classes, f"conformance lacks {CONF.format(part, name)}")


def api(w, base):
    doc = w.api()
    check(doc["openapi"].startswith("3.0"), f"openapi {doc['openapi']}")
    check(doc["servers"][0]["url"] == base, f"servers[0].url {doc['servers'][0]['url']}")
    check("/collections/grids/items" in doc["paths"], "no concrete items path")


def collections(w, counts):
    ids = [c["id"] for c in w.collections()["collections"]]
    check(sorted(ids) == sorted(counts), f"collections {ids}")
    check(sorted(w.feature_collections()) == sorted(counts), "itemType feature")
    grids = w.collection("grids")
    rels = [l["rel"] for l in grids["links"]]
    check("items" in rels, f"grids links {rels}")
    check("http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels, f"no queryables link: {rels}")


def bbox_limit_next(w, base, plain):
    window = [119.50, 31.95, 119.62, 32.02]
    features, matched = read_all(w, base, "grids", bbox=window, limit=37)
    keys = sorted(str(f["properties"]["code"]) for f in features)
    check(len(keys) == matched == len(set(keys)), f"{len(keys)} read, {matched} matched")
    area = box(*window)
    want = keys_where(plain["grids"], "grids", lambda f: shape(f["geometry"]).intersects(area))
    check(keys == want and 37 < len(want) < len(plain["grids"]), f"bbox: {len(keys)} != {len(want)}")
    page = w.collection_items("villages", limit=7)
    check(page["numberReturned"] == len(page["features"]) == 7, "limit=7")
    features, matched = read_all(w, base, "stations", limit=1000)
    check(len(features) == matched == len(plain["stations"]), "stations in one page")


def datetime_filter(w, base, plain):
    alliances = plain["alliances"]
    founded = sorted({f["properties"]["founded"] for f in alliances})
    check(len(founded) >= 3, f"founded dates {founded}")
    # Bounds on days no alliance was founded, so reading a date as a day or as its first instant
    # gives the same answer: the first free day after the median, and 1 January of the first year.
    day = date.fromisoformat(founded[len(founded) // 2])
    while day.isoformat() in founded:
        day += timedelta(days=1)
    start, first = day.isoformat(), f"{founded[0][:4]}-01-01"
    check(first not in founded, f"an alliance founded on {first}")
    for interval, predicate in [
        (f"{start}T00:00:00Z/..", lambda d: d > start),
        (f"../{start}T00:00:00Z", lambda d: d < start),
        (f"{first}T00:00:00Z/{start}T00:00:00Z", lambda d: first < d < start),
    ]:
        features, matched = read_all(w, base, "alliances", datetime_=interval, limit=5)
        got = sorted(str(f["properties"]["id"]) for f in features)
        want = keys_where(alliances, "alliances", lambda f: predicate(f["properties"]["founded"]))
        check(got == want and len(got) == matched, f"datetime={interval}: {got} != {want}")
    page = w.collection_items("grids", datetime_="2024-05-01T08:00:00Z", limit=1)
    check(page["numberMatched"] == len(plain["grids"]), "grids have no time: all match")


def queryables(w, plain):
    json_types = {str: "string", int: "integer", float: "number", list: "array", bool: "boolean"}
    for collection, features in plain.items():
        q = w.collection_queryables(collection)
        props = {k: v for k, v in q["properties"].items()
                 if v.get("x-ogc-role") != "primary-geometry"}
        geometry = [v for v in q["properties"].values() if v.get("x-ogc-role") == "primary-geometry"]
        if not features:
            # A staff layer, empty for the public: its queryables still describe it.
            check(len(geometry) == 1 and props, f"{collection}: queryables {q['properties']}")
            continue
        kinds = {f["geometry"]["type"].lower() for f in features}
        check(len(geometry) == 1 and geometry[0].get("format") in {f"geometry-{k}" for k in kinds},
              f"{collection}: geometry queryable {geometry} for {kinds}")
        seen = {k for f in features for k in f["properties"]}
        check(set(props) == seen, f"{collection} queryables {sorted(props)} != {sorted(seen)}")
        for f in features:
            for k, v in f["properties"].items():
                declared = props[k].get("type")
                declared = declared if isinstance(declared, list) else [declared]
                kind = "null" if v is None else json_types[type(v)]
                check(kind in declared or (kind == "integer" and "number" in declared),
                      f"{collection}.{k} = {v!r} is not {declared}")


def main(base):
    w = Features(base)
    counts = health(base)
    plain = {c: all_features(base, c) for c in counts}
    s = Sections("owslib")
    s.run("landing", landing, w, base)
    s.run("conformance", conformance, w)
    s.run("api", api, w, base)
    s.run("collections", collections, w, counts)
    s.run("items bbox/limit/next", bbox_limit_next, w, base, plain)
    s.run("items datetime", datetime_filter, w, base, plain)
    s.run("queryables", queryables, w, plain)
    s.finish()


if __name__ == "__main__":
    main(sys.argv[1])
