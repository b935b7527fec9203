"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

One answer of patchbay cannot be described by OpenAPI 3.0 alone: helpscout-v1's
`PUT /v1/customers/{id}.json` answers 200 with an EMPTY body and no Content-Type, unless the
client asked for the customer (`reload=true` in the query or the body), when it answers
`{"item": customer}` (SPEC §1, as the vendor does). A response object has one `content` map, so
the document declares the `{"item"}` body and says in its description that the body is empty
without `reload`. These two checks are the built-in `content_type_conformance` and
`response_schema_conformance`, except that exactly that empty acknowledgement passes; every
other answer of every operation goes through the built-in check unchanged.
"""

import json

import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

HS1_PUT = "PUT /v1/customers/{id}.json"


def _truthy(v):
    return v is True or (isinstance(v, str) and v.lower() == "true")


def _reload_requested(case):
    if _truthy((case.query or {}).get("reload")):
        return True
    body = case.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and _truthy(body.get("reload"))


def _empty_hs1_ack(case, response):
    return (
        case.operation.label == HS1_PUT
        and response.status_code == 200
        and not response.content
        and "content-type" not in response.headers
        and not _reload_requested(case)
    )


@schemathesis.check
def patchbay_content_type_conformance(ctx, response, case):
    """`content_type_conformance`, allowing helpscout-v1's empty PUT acknowledgement."""
    if _empty_hs1_ack(case, response):
        return None
    return content_type_conformance(ctx, response, case)


@schemathesis.check
def patchbay_response_schema_conformance(ctx, response, case):
    """`response_schema_conformance`, allowing helpscout-v1's empty PUT acknowledgement."""
    if _empty_hs1_ack(case, response):
        return None
    return response_schema_conformance(ctx, response, case)
