"""What the client scripts share: plain-HTTP reads (the independent side of every comparison),
the server's request log, and failing loudly.

Every script takes the server's base URL (and, where it proves where a filter ran, the path of the
server's log, written with RUST_LOG including gridmap::http::front=debug) and exits non-zero with a message
when a check fails.
"""

import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request

KEYS = {
    "towns": "code",
    "villages": "code",
    "grids": "code",
    "stations": "id",
    "alliances": "id",
    "members": "id",
    # Built in on the declared-layer machinery.
    "buildings": "code",
    # The declared layers of geodata/layers.toml.
    "risk_zones": "code",
    "shelters": "code",
    "party_orgs": "code",
    "centres": "code",
    "police_beats": "code",
    "dedicated_grids": "code",
    # A staff layer: its features exist only for accounts, so the public reads none.
    "care_households": "code",
}


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


# The TLS context of https requests: the system's CAs, or what `trust` names.
_TLS = None


def trust(ca_file):
    """Verify https answers against this CA (or self-signed) certificate from now on."""
    global _TLS
    _TLS = ssl.create_default_context(cafile=ca_file)


def fetch(url, headers=None):
    """(status, headers, body bytes) of a GET, errors and redirects included (not followed)."""
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=_TLS))
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check(condition, message):
    if not condition:
        fail(message)


def get_json(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60, context=_TLS) as response:
        return json.load(response)


def health(base):
    """The feature counts the public may read (the clients under test send no token): /health's
    counts for a city account (GRIDMAP_TEST_TOKEN, made by the Rust side), with none for a staff
    layer, whose features exist only for accounts (/map/config.json names those layers)."""
    token = os.environ["GRIDMAP_TEST_TOKEN"]
    counts = get_json(f"{base}/health", {"Authorization": f"Bearer {token}"})["features"]
    staff = {d["id"] for d in get_json(f"{base}/map/config.json")["declared"] if d.get("staff")}
    check(staff, "the sample has a staff layer (households in care)")
    return {name: 0 if name in staff else n for name, n in counts.items()}


def all_features(base, collection):
    """Every feature of a collection in plain requests of 10000 (by offset, not by the links the
    clients under test follow)."""
    features, matched = [], None
    while matched is None or len(features) < matched:
        page = get_json(f"{base}/collections/{collection}/items?limit=10000&offset={len(features)}")
        matched = page["numberMatched"]
        check(page["features"] or len(features) == matched, f"{collection}: an empty page early")
        features += page["features"]
    check(len(features) == matched, f"{collection}: {len(features)} of {matched}")
    return features


def keys_where(features, collection, predicate):
    key = KEYS[collection]
    return sorted(str(f["properties"][key]) for f in features if predicate(f))


class ServerLog:
    """The request lines of the server's log (the request span's `uri=` field), read from a mark on."""

    ANSI = re.compile(r"\x1b\[[0-9;]*m")
    URI = re.compile(r"uri=(\S+)")

    def __init__(self, path):
        self.path = path
        self.mark = self._size()

    def _size(self):
        with open(self.path, "rb") as f:
            return len(f.read())

    def restart(self):
        self.mark = self._size()

    def uris(self):
        """Request URIs (path and query) logged since the mark, in order."""
        with open(self.path, "rb") as f:
            f.seek(self.mark)
            text = self.ANSI.sub("", f.read().decode("utf-8", "replace"))
        return [
            m.group(1)
            for line in text.splitlines()
            if "started processing request" in line
            for m in [self.URI.search(line)]
            if m
        ]

    def items_requests(self, collection):
        prefix = f"/collections/{collection}/items?"
        return [u for u in self.uris() if u.startswith(prefix)]


def assert_pushed(log, collection, needle, what):
    """Every items request for `collection` since the mark carried `needle` (the filter ran on
    the server), and there was at least one."""
    requests = log.items_requests(collection)
    check(requests, f"{what}: no items request for {collection} reached the server")
    # GDAL's first request of a layer (limit=20 or 10) samples the schema before the filter is set.
    filtered = [u for u in requests if needle in u]
    check(filtered, f"{what}: no request carried {needle}; the server saw {requests}")
    first = requests.index(filtered[0])
    unfiltered = [u for u in requests[first:] if needle not in u]
    check(
        not unfiltered,
        f"{what}: after the filter was set, requests without {needle}: {unfiltered}",
    )
    return filtered


class Sections:
    """Runs independent checks one after another and reports every failure at the end, so one
    missing server feature does not hide the state of the others."""

    def __init__(self, client):
        self.client = client
        self.failures = []

    def run(self, name, fn, *args):
        try:
            fn(*args)
            print(f"{self.client}: {name}: ok", file=sys.stderr)
        except SystemExit:
            self.failures.append(name)
        except Exception as e:  # a client library's own error is a failed check too
            print(f"FAILED: {name}: {type(e).__name__}: {e}", file=sys.stderr)
            self.failures.append(name)

    def finish(self):
        if self.failures:
            fail(f"{self.client}: {len(self.failures)} failed: {', '.join(self.failures)}")
