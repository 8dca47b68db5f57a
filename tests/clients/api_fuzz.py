"""schemathesis against /openapi.json: generated requests for every operation, each answer
checked against the document.

usage: api_fuzz.py BASE_URL WORK_DIR MAX_EXAMPLES [SEED]

The test command runs it with the fixed seed; `scripts/api-fuzz` runs it for an hour, seed after seed.

schemathesis is given no account token, so POST, PUT, PATCH and DELETE are exercised up to the
authentication answer (401) and never change the data.

Checks, and why these:
- not_a_server_error: no 5xx, whatever the input (positive and negative modes);
- status_code_conformance: every status is one the document declares for the operation;
- content_type_conformance: the Content-Type is one the document declares for that status
  (caught /nearest answering application/json for a GeoJSON FeatureCollection);
- response_headers_conformance: declared headers present when required and of their schema
  (Location on redirects, Content-Crs, ETag);
- response_schema_conformance: bodies validate against the declared schemas (per-collection
  feature properties are typed, so a property of the wrong type fails);
- missing_required_header, ignored_auth: writes without the bearer token are refused with 401;
- unsupported_method, allow_header_conformance: undeclared methods answer 405.
Left out: positive_data_acceptance, because OpenAPI 3.0 cannot state the cross-parameter rules
the server rightly enforces (bbox min below max, tile y below 2^z, points only with
candidates=points), so it reports schema-valid but meaningless requests; negative_data_rejection,
because `limit` above its maximum is served at the maximum as OGC API - Features Core requires.
Stateful testing needs OpenAPI links, which the document does not declare.
"""

import sys

from schemathesis.cli import schemathesis

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
]


def main(base, work, examples, seed="20261130"):
    sys.argv = [
        "schemathesis", "run", f"{base}/openapi.json",
        "--checks", ",".join(CHECKS),
        "--mode", "all",
        "--phases", "coverage,fuzzing",
        "--max-examples", examples,
        "--seed", seed,
        "--workers", "1",
        "--generation-database", "none",
        "--report-dir", work,
        "--no-color",
    ]
    schemathesis()


if __name__ == "__main__":
    main(*sys.argv[1:5])
