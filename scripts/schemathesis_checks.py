"""Schemathesis hooks for LifeFlow's GraphQL API (loaded by scripts/schemathesis.sh).

Three things:

1. Schemathesis's `not_a_server_error` counts a GraphQL error raised by a resolver as a server
   failure unless its `extensions.code` is one of Apollo Server's client codes. LifeFlow's
   codes for a caller's mistake (FORBIDDEN, NOT_FOUND, ...) are client errors too, so they
   are added to that list, and INTERNAL to the list of server errors. With that,
   `not_a_server_error` fails on a 5xx, on INTERNAL, and on a resolver error without a code.

2. A check of our own, `every_error_has_a_code`: every error in a response carries
   `extensions.code`, none of them INTERNAL, whatever the status.

3. Values for the schema's own scalars (`NaiveDate`, `NaiveTime`, `JSON`), which schemathesis
   does not know.
"""

import json

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql import validation

schemathesis.graphql.scalar("NaiveDate", st.dates().map(lambda d: nodes.String(d.isoformat())))
schemathesis.graphql.scalar(
    "NaiveTime", st.times().map(lambda t: nodes.String(t.isoformat(timespec="seconds")))
)
_json_leaf = st.one_of(
    st.integers(-1000, 1000).map(nodes.Int),
    st.text(max_size=20).map(nodes.String),
    st.booleans().map(nodes.Boolean),
)
schemathesis.graphql.scalar(
    "JSON",
    st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), _json_leaf, max_size=4).map(
        lambda d: nodes.Object(
            [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in d.items()]
        )
    ),
)

# DESIGN §3: the codes of errors a caller causes, and the codes of requests refused before
# they run (README, API conventions).
CLIENT_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "INVALID_TRANSITION",
    "INSUFFICIENT_STOCK",
    "RATE_LIMITED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_REQUEST",
}

validation.CLIENT_ERROR_MARKERS = validation.CLIENT_ERROR_MARKERS | CLIENT_CODES
validation.SERVER_ERROR_MARKERS = validation.SERVER_ERROR_MARKERS | {"INTERNAL"}


def _errors(response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    if isinstance(body, list):  # a batch
        return [e for item in body if isinstance(item, dict) for e in item.get("errors") or []]
    if isinstance(body, dict):
        return body.get("errors") or []
    return None


@schemathesis.check
def every_error_has_a_code(ctx, response, case):
    """Every GraphQL error carries extensions.code, and none is INTERNAL."""
    errors = _errors(response)
    if errors is None:
        raise AssertionError(f"the body is not GraphQL JSON (status {response.status_code})")
    for e in errors:
        code = (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None
        if not isinstance(code, str) or not code:
            raise AssertionError(f"an error without extensions.code: {json.dumps(e)}")
        if code == "INTERNAL":
            raise AssertionError(f"an INTERNAL error: {json.dumps(e)}")
    return None
