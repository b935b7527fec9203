#!/usr/bin/env python3
"""Generates openapi/patchbay.json, the OpenAPI 3.0 document of every client-facing endpoint.

    python3 openapi/generate.py          # rewrite openapi/patchbay.json
    python3 openapi/generate.py --check  # exit 1 when the committed file is stale

The document is data; this script only keeps its ~40 response objects consistent (four error
envelopes x nine statuses x eleven operations). Sources: SPEC §1 and §4, docs/dialects.md,
docs/errors.md, and the enumerations in src/canonical/mod.rs and src/dialect/*.rs. The layout
decisions (one document, tags per dialect, the v1 `.json` suffix) are in docs/openapi.md.
Standard library only.
"""

import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent / "patchbay.json"

HS2, HS1, CRUNCH, REACH = "helpscout-v2", "helpscout-v1", "helpcrunch", "reach"


def ref(kind, name):
    return {"$ref": f"#/components/{kind}/{name}"}


def nstr(max_len=None, min_len=None, **extra):
    s = {"type": "string", "nullable": True}
    if min_len is not None:
        s["minLength"] = min_len
    if max_len is not None:
        s["maxLength"] = max_len
    s.update(extra)
    return s


def nenum(values):
    return {"type": "string", "nullable": True, "enum": list(values) + [None]}


def obj(props, required=(), additional=None, **extra):
    s = {"type": "object", "properties": props}
    if required:
        s["required"] = list(required)
    if additional is not None:
        s["additionalProperties"] = additional
    s.update(extra)
    return s


def arr(items, **extra):
    return {"type": "array", "items": items, **extra}


SCALAR = {
    "nullable": True,
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
}
ANY = {"nullable": True, "description": "any JSON value"}

# --- enumerations (SPEC §1; src/canonical/mod.rs, src/dialect/helpscout_v*.rs) ---------------
EMAIL_TYPES = ["home", "other", "work"]
PHONE_TYPES = ["fax", "home", "mobile", "other", "pager", "work"]
CHAT_TYPES = ["aim", "gtalk", "icq", "msn", "other", "qq", "skype", "xmpp", "yahoo"]
SOCIAL = ["aboutme", "facebook", "flickr", "{fs}", "google", "googleplus", "linkedin", "other",
          "quora", "tungleme", "twitter", "youtube"]
SOCIAL_V2 = [s.format(fs="forsquare") for s in SOCIAL] + ["foursquare"]
SOCIAL_V1 = [s.format(fs="foursquare") for s in SOCIAL]
PHOTO_V1 = ["unknown", "gravatar", "twitter", "facebook", "googleprofile", "googleplus",
            "linkedin"]
PHOTO_V2 = PHOTO_V1 + ["instagram"]
GENDERS = ["male", "female", "unknown"]
# Help Scout v2 matches gender in any case.
GENDER_ANY_CASE = "^([Mm][Aa][Ll][Ee]|[Ff][Ee][Mm][Aa][Ll][Ee]|[Uu][Nn][Kk][Nn][Oo][Ww][Nn])$"
ISO_639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht "
    "hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky "
    "la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny "
    "oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss "
    "st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo "
    "za zh zu"
).split()

# helpscout-v2 sub-resource collections: URL segment -> schema name part.
SUB_NAMES = {"emails": "Email", "phones": "Phone", "chats": "Chat",
             "social-profiles": "SocialProfile", "websites": "Website"}

# --- per-dialect descriptions -----------------------------------------------------------------
ERROR_MEDIA = {HS2: "application/vnd.error+json", HS1: "application/json",
               CRUNCH: "application/json", REACH: "application/json"}
ERROR_SCHEMA = {HS2: "Hs2Error", HS1: "Hs1Error", CRUNCH: "CrunchError", REACH: "ReachError"}
RETRY_HEADER = {HS2: "X-RateLimit-Retry-After", HS1: "Retry-After", CRUNCH: "Retry-After",
                REACH: "Retry-After"}
SHORT = {HS2: "Hs2", HS1: "Hs1", CRUNCH: "Crunch", REACH: "Reach"}

STATUS_TEXT = {
    "400": "Invalid request: body not JSON, wrong shape, a rule of the dialect broken, a value "
           "the upstream cannot hold, or (route policy `reject`) a change the upstream has no "
           "place for. Every offending field is named in the client's own terms.",
    "401": "Missing, wrong, forged or expired client credentials (routes with `clients`), or "
           "the upstream's 401.",
    "404": "Unknown customer (the upstream's 404), or an unknown endpoint under the route.",
    "405": "Wrong method on a known path.",
    "413": "Body larger than `server.max_body_bytes` (64 KiB at most); the connection is closed.",
    "415": "A write whose `Content-Type` is not JSON (`application/json`, `application/*+json`).",
    "429": "The gateway's own per-upstream rate limit, or the upstream's 429 (its delay passed "
           "on in the dialect's retry header).",
    "500": "A gateway bug.",
    "502": "Upstream unreachable, refused, reset, not HTTP, or a success without a readable "
           "customer.",
    "504": "Upstream slower than its `connect_timeout_ms` / `read_timeout_ms`.",
    "4XX": "Any other upstream 4xx with a body: same status, error translated into the "
           "client's format, field names mapped back (SPEC §4).",
    "5XX": "Any other upstream 5xx: same status, error translated (SPEC §4); or 503 from the "
           "gateway itself when the upstream already has its `max_inflight` requests in flight, "
           "or (with `[cluster]`) when the customer's lock cannot be had in time or Redis is "
           "unavailable for a read-modify-write (nothing sent).",
}
ERROR_STATUSES = ["400", "401", "404", "405", "413", "415", "429", "500", "502", "504", "4XX",
                  "5XX"]


def error_responses(d, statuses=ERROR_STATUSES):
    return {s: ref("responses", f"{SHORT[d]}{s}") for s in statuses}


def dropped_header():
    return {"Patchbay-Dropped-Fields": ref("headers", "DroppedFields")}


def components():
    schemas = {}
    responses = {}
    headers = {
        "DroppedFields": {
            "description": "Routes with `unmappable = \"drop\"`: the client's fields the "
                           "upstream has no place for, comma-separated, not applied.",
            "schema": {"type": "string"},
        },
        "RetryAfter": {
            "description": "Seconds to wait before retrying (when the delay is known).",
            "schema": {"type": "integer", "minimum": 0},
        },
        "Allow": {
            "description": "The methods the path allows, comma-separated (`GET, PATCH, PUT`).",
            "schema": {"type": "string"},
        },
    }

    # --- error envelopes ----------------------------------------------------------------
    schemas["Hs2Error"] = obj(
        {
            "logRef": {"type": "string", "format": "uuid"},
            "message": {"type": "string"},
            "_embedded": obj(
                {"errors": arr(obj(
                    {
                        "path": {"type": "string",
                                 "description": "JSON pointer without its leading `/`; "
                                                "`body` for the body root"},
                        "message": {"type": "string"},
                        "source": {"type": "string", "enum": ["JSON"]},
                        "rejectedValue": ANY,
                    },
                    ["path", "message", "source"], False))},
                ["errors"], False),
            "_links": obj({"about": obj({"href": {"type": "string"}}, ["href"])}, ["about"]),
        },
        ["logRef", "message", "_embedded", "_links"], False,
        description="Help Scout v2 `vnd.error`; non-validation errors carry an empty `errors`.",
    )
    schemas["Hs1Error"] = obj(
        {
            "code": {"type": "integer", "description": "the HTTP status"},
            "error": {"type": "string"},
            "validationErrors": arr(obj(
                {"property": {"type": "string", "description": "dotted: `emails[0].location`"},
                 "value": {"type": "string", "description": "the rejected value, `\"\"` if none"},
                 "message": {"type": "string"}},
                ["property", "value", "message"], False)),
        },
        ["code", "error"], False,
        description="Help Scout v1; `validationErrors` only on 400 with field violations.",
    )
    schemas["CrunchError"] = obj(
        {"errors": arr(obj(
            {"code": {"type": "string",
                      "description": "`invalid_request` first; then a dotted field path, "
                                     "`invalid_json`, or a kind code (`not_found`, "
                                     "`unauthorized`, `too_many_requests`, ...)"},
             "message": {"type": "string"}},
            ["code", "message"], False), minItems=1)},
        ["errors"], False,
        description="HelpCrunch; the first entry is always "
                    "`{\"code\":\"invalid_request\",\"message\":\"Invalid request\"}`.",
    )
    schemas["ReachError"] = obj(
        {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string"},
            "errors": arr(obj(
                {"path": {"type": "string", "description": "dotted, `data` included"},
                 "message": {"type": "string"}},
                ["path", "message"], False)),
        },
        ["success", "message", "errors"], False,
        description="Reach; `errors` is empty for non-validation errors.",
    )
    schemas["OAuthError"] = obj(
        {"error": {"type": "string",
                   "enum": ["invalid_request", "unsupported_grant_type", "invalid_client"]},
         "error_description": {"type": "string"}},
        ["error", "error_description"], False,
        description="RFC 6749 §5.2 error of the token endpoint.",
    )
    for d in (HS2, HS1, CRUNCH, REACH):
        for s in ERROR_STATUSES:
            r = {
                "description": STATUS_TEXT[s],
                "content": {ERROR_MEDIA[d]: {"schema": ref("schemas", ERROR_SCHEMA[d])}},
            }
            if s in ("429", "4XX"):
                r["headers"] = {RETRY_HEADER[d]: ref("headers", "RetryAfter")}
            if s == "405":
                r["headers"] = {"Allow": ref("headers", "Allow")}
            responses[f"{SHORT[d]}{s}"] = r

    # --- helpscout-v2 -----------------------------------------------------------------
    v2_fields = {
        "firstName": nstr(40, 1), "lastName": nstr(40, 1),
        "photoUrl": nstr(200), "photoType": nenum(PHOTO_V2),
        "jobTitle": nstr(60), "location": nstr(60), "background": nstr(200),
        "age": nstr(), "gender": nstr(pattern=GENDER_ANY_CASE),
        "organization": nstr(60),
    }
    address = {"lines": {"type": "array", "items": {"type": "string"}, "nullable": True},
               "city": nstr(), "state": nstr(), "postalCode": nstr(), "country": nstr()}
    ops = []
    for name, schema in v2_fields.items():
        ops.append(obj({"op": {"type": "string", "enum": ["add", "replace"]},
                        "path": {"type": "string", "enum": [f"/{name}"]},
                        "value": schema}, ["op", "path", "value"]))
    for name, schema in address.items():
        ops.append(obj({"op": {"type": "string", "enum": ["add", "replace"]},
                        "path": {"type": "string", "enum": [f"/address/{name}"]},
                        "value": schema}, ["op", "path", "value"]))
    ops.append(obj({"op": {"type": "string", "enum": ["remove"]},
                    "path": {"type": "string",
                             "enum": [f"/{n}" for n in v2_fields]
                             + [f"/address/{n}" for n in address]}},
                   ["op", "path"], description="clears the field"))
    colls = {"emails": EMAIL_TYPES, "phones": PHONE_TYPES, "chats": CHAT_TYPES,
             "social-profiles": SOCIAL_V2, "websites": None}
    for coll, types in colls.items():
        value = {"type": "string", "minLength": 1}
        if coll == "emails":
            value = {"type": "string", "format": "email", "minLength": 1}
        entry = {"value": value}
        req = ["value"]
        if types:
            entry["type"] = {"type": "string", "enum": types}
            req = ["type", "value"]
        ops.append(obj({"op": {"type": "string", "enum": ["add"]},
                        "path": {"type": "string", "enum": [f"/{coll}"]},
                        "value": obj(entry, req)},
                       ["op", "path", "value"], description=f"adds an entry to {coll}"))
        upd = {"value": value}
        if types:
            upd["type"] = {"type": "string", "enum": types}
        ops.append(obj({"op": {"type": "string", "enum": ["replace"]},
                        "path": {"type": "string", "pattern": f"^/{coll}/[1-9][0-9]{{0,17}}$"},
                        "value": obj(upd, minProperties=1)},
                       ["op", "path", "value"], description=f"updates a {coll} entry"))
        ops.append(obj({"op": {"type": "string", "enum": ["remove"]},
                        "path": {"type": "string", "pattern": f"^/{coll}/[1-9][0-9]{{0,17}}$"}},
                       ["op", "path"], description=f"removes a {coll} entry"))
        ops.append(obj({"op": {"type": "string", "enum": ["replace"]},
                        "path": {"type": "string",
                                 "pattern": f"^/{coll}/[1-9][0-9]{{0,17}}/value$"},
                        "value": value},
                       ["op", "path", "value"]))
        if types:
            ops.append(obj({"op": {"type": "string", "enum": ["replace"]},
                            "path": {"type": "string",
                                     "pattern": f"^/{coll}/[1-9][0-9]{{0,17}}/type$"},
                            "value": {"type": "string", "enum": types}},
                           ["op", "path", "value"]))
    fields_re = "|".join(list(v2_fields) + [f"address/{n}" for n in address])
    colls_re = "|".join(colls)
    any_path = (f"^/({fields_re}|({colls_re})(/[1-9][0-9]{{0,17}}(/(value|type))?)?)$")
    ops.append(obj({"op": {"type": "string", "enum": ["test"]},
                    "path": {"type": "string", "pattern": any_path},
                    "value": {"nullable": True}},
                   ["op", "path", "value"],
                   description="RFC 6902 test against the customer's current state (entries "
                               "keyed by id); a failed test answers 409 and nothing is written"))
    ops.append(obj({"op": {"type": "string", "enum": ["move", "copy"]},
                    "from": {"type": "string", "pattern": any_path},
                    "path": {"type": "string", "pattern": any_path}},
                   ["op", "from", "path"],
                   description="RFC 6902 move/copy on the customer document; a collection "
                               "`path` appends a new entry; `move` only from a field or a whole "
                               "entry (docs/dialects.md, patch documents)"))
    schemas["Hs2PatchOperation"] = {
        "description": "One operation of the JSON-Patch-like body (helpscout.md §2.4.1): "
                       "top-level fields, `/address/<field>`, "
                       "`/emails|phones|chats|social-profiles|websites[/{id}[/value|type]]`. "
                       "Removing a whole collection is rejected; `null` as an add/replace "
                       "value clears the field. `test`, `move` and `copy` make the patch an "
                       "RFC 6902 document evaluated against the customer's current state.",
        "anyOf": ops,
    }
    schemas["Hs2Patch"] = arr(ref("schemas", "Hs2PatchOperation"),
                              description="An empty array is an empty change set.")
    schemas["Hs2Put"] = obj(
        dict(v2_fields), additional=True,
        description="Overwrite of the entity's scalar fields: every field not given becomes "
                    "null. Entry arrays and unknown keys are ignored, as the vendor does.")
    for coll, types in colls.items():
        value = {"type": "string", "minLength": 1}
        if coll == "emails":
            value = {"type": "string", "format": "email", "minLength": 1}
        entry = {"value": value}
        req = ["value"]
        if types:
            entry["type"] = {"type": "string", "enum": types}
            req = ["type", "value"]
        else:
            entry["type"] = {"description": "ignored: websites have no type"}
        schemas[f"Hs2Entry{SUB_NAMES[coll]}"] = obj(
            entry, req, additional=True,
            description=f"One {coll} entry (`POST` creates, `PUT` replaces entry `entryId`); "
                        "members other than `type` and `value` are ignored, as in a patch "
                        "op's entry object.")
    schemas["Hs2Address"] = obj(
        {"city": {"type": "string", "minLength": 1},
         "state": {"type": "string", "minLength": 1},
         "postalCode": {"type": "string", "minLength": 1},
         "country": {"type": "string", "minLength": 1},
         "lines": {"type": "array", "items": {"type": "string"}, "nullable": True,
                   "description": "cleared when left out: the object replaces the address"}},
        ["city", "state", "postalCode", "country"], additional=True,
        description="The whole address; each member is translated like the equivalent "
                    "`/address/<field>` patch operation.")
    schemas["Hs2PropertiesPatch"] = arr(obj(
        {"op": {"type": "string", "enum": ["replace", "remove"]},
         "path": {"type": "string", "pattern": "^/[^/]+$",
                  "description": "`/` and the property slug (`~1`, `~0` unescaped)"},
         "value": SCALAR},
        ["op", "path"],
        description="`replace` with `value: null` removes the property."))

    def v2_entry(types):
        p = {"id": {"type": "integer"}, "value": {"type": "string"}}
        if types:
            p["type"] = {"type": "string"}
        return obj(p, ["id", "value"])

    schemas["Hs2Customer"] = obj(
        {
            "id": {"type": "integer"},
            "firstName": {"type": "string"}, "lastName": {"type": "string"},
            "gender": {"type": "string", "description": "capitalised (`Male`)"},
            "jobTitle": {"type": "string"}, "location": {"type": "string"},
            "organization": {"type": "string"}, "photoType": {"type": "string"},
            "photoUrl": {"type": "string"}, "age": {"type": "string"},
            "background": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
            "_embedded": obj(
                {
                    "emails": arr(v2_entry(True)), "phones": arr(v2_entry(True)),
                    "chats": arr(v2_entry(True)), "social_profiles": arr(v2_entry(True)),
                    "websites": arr(v2_entry(False)),
                    "properties": arr(obj({"slug": {"type": "string"}, "value": ANY},
                                          ["slug", "value"])),
                    "address": obj({"lines": arr({"type": "string"}), "city": {"type": "string"},
                                    "state": {"type": "string"},
                                    "postalCode": {"type": "string"},
                                    "country": {"type": "string"}}),
                },
                ["emails", "phones", "chats", "social_profiles", "websites", "properties"]),
            "_links": obj({k: obj({"href": {"type": "string"}}, ["href"])
                           for k in ["self", "address", "chats", "emails", "phones",
                                     "social-profiles", "websites"]}, ["self"]),
        },
        ["id", "_embedded", "_links"],
        description="HAL customer; null scalars are omitted; `_links` are relative.",
    )
    schemas["TokenRequest"] = obj(
        {"grant_type": {"type": "string", "enum": ["client_credentials"]},
         "client_id": {"type": "string"}, "client_secret": {"type": "string"}},
        ["grant_type", "client_id", "client_secret"])
    schemas["TokenResponse"] = obj(
        {"token_type": {"type": "string", "enum": ["bearer"]},
         "access_token": {"type": "string"},
         "expires_in": {"type": "integer", "minimum": 0}},
        ["token_type", "access_token", "expires_in"], False)

    # --- helpscout-v1 -----------------------------------------------------------------
    v1_id = {"type": "integer", "nullable": True,
             "description": "> 0 updates entry `id`, absent/0/null creates, < 0 deletes `-id`"}

    def v1_entry(kind_key, types):
        p = {"id": v1_id, "value": {"type": "string", "nullable": True}}
        if kind_key:
            p[kind_key] = nenum(types)
        return obj(p)

    v1_scalars = {
        "firstName": nstr(39), "lastName": nstr(39), "organization": nstr(), "jobTitle": nstr(),
        "background": nstr(), "photoUrl": nstr(), "photoType": nenum(PHOTO_V1),
        "gender": nenum(GENDERS), "age": nstr(), "location": nstr(),
    }
    schemas["Hs1Put"] = obj(
        {
            **v1_scalars,
            "address": obj(dict(address), nullable=True,
                           description="`null` clears the five address fields"),
            "emails": arr(v1_entry("location", EMAIL_TYPES), nullable=True),
            "phones": arr(v1_entry("location", PHONE_TYPES), nullable=True),
            "chats": arr(v1_entry("type", CHAT_TYPES), nullable=True),
            "socialProfiles": arr(v1_entry("type", SOCIAL_V1), nullable=True),
            "websites": arr(v1_entry(None, None), nullable=True),
            "reload": {"type": "boolean", "nullable": True,
                       "description": "same as the `reload` query parameter"},
        },
        additional=True,
        description="Partial update: fields present are set; entries not listed stay. "
                    "Unknown keys are ignored, as the vendor does.")

    def v1_out_entry(kind_key):
        p = {"id": {"type": "integer"}, "value": {"type": "string"}}
        if kind_key:
            p[kind_key] = {"type": "string", "nullable": True}
        return obj(p, ["id", "value"])

    item_keys = ["id", "firstName", "lastName", "fullName", "photoUrl", "photoType", "gender",
                 "age", "organization", "jobTitle", "location", "createdAt", "modifiedAt",
                 "background", "address", "socialProfiles", "emails", "phones", "chats",
                 "websites"]
    item = {k: nstr() for k in item_keys}
    item.update({
        "id": {"type": "integer"},
        "createdAt": nstr(format="date-time"), "modifiedAt": nstr(format="date-time"),
        "address": obj({"lines": arr({"type": "string"}), "city": nstr(), "state": nstr(),
                        "postalCode": nstr(), "country": nstr()},
                       ["lines", "city", "state", "postalCode", "country"], nullable=True),
        "socialProfiles": arr(v1_out_entry("type")), "emails": arr(v1_out_entry("location")),
        "phones": arr(v1_out_entry("location")), "chats": arr(v1_out_entry("type")),
        "websites": arr(v1_out_entry(None)),
    })
    schemas["Hs1Customer"] = obj(item, item_keys)
    schemas["Hs1Item"] = obj({"item": ref("schemas", "Hs1Customer")}, ["item"], False)

    # --- helpcrunch -----------------------------------------------------------------------
    seen = {"nullable": True, "anyOf": [{"type": "string", "pattern": "^[0-9]{1,12}$"},
                                        {"type": "integer", "minimum": 0}],
            "description": "UNIX seconds, as a string or an integer"}
    crunch_in = {
        "name": nstr(description="split at the last space into first / last name"),
        "email": nstr(format="email"), "phone": nstr(), "userId": nstr(), "company": nstr(),
        "firstSeen": seen, "lastSeen": seen, "city": nstr(), "regionCode": nstr(),
        "countryCode": nstr(),
        "unsubscribed": {"type": "boolean", "nullable": True},
        "blocked": {"type": "boolean", "nullable": True},
        "source": nstr(), "referer": nstr(), "lastPage": nstr(), "locale": nenum(ISO_639_1),
        "createdFrom": nstr(), "integrationId": nstr(), "notes": nstr(),
        "tags": arr(obj({"name": {"type": "string", "minLength": 1, "pattern": "\\S"},
                         "color": nstr()}, ["name"], False), nullable=True),
        "customData": arr(obj({"property": {"type": "string", "minLength": 1},
                               "value": SCALAR}, ["property", "value"], False),
                          description="`value: null` removes the attribute"),
        "id": {"description": "read-only, ignored"},
        "device": {"description": "read-only, ignored"},
        "location": {"description": "read-only; on PUT its non-null members fill an absent "
                                    "`city` / `regionCode` / `countryCode`"},
        "createdAt": {"description": "read-only, ignored"},
    }
    schemas["CrunchUpdate"] = obj(
        crunch_in, additional=False,
        description="PATCH: fields present are set, `null` clears. PUT: fields not present "
                    "are cleared (`customData` is merged per attribute). Unknown keys: 400.")
    crunch_out = {
        "id": {"type": "integer"}, "name": nstr(), "email": nstr(), "userId": nstr(),
        "company": nstr(), "phone": nstr(), "firstSeen": nstr(), "lastSeen": nstr(),
        "location": obj({"regionCode": nstr(), "countryCode": nstr(), "city": nstr()},
                        ["regionCode", "countryCode", "city"]),
        "device": {"nullable": True},
        "unsubscribed": {"type": "boolean", "nullable": True},
        "blocked": {"type": "boolean", "nullable": True},
        "source": nstr(), "referer": nstr(), "lastPage": nstr(), "locale": nstr(),
        "createdFrom": nstr(), "integrationId": nstr(), "notes": nstr(),
        "tags": arr(obj({"name": {"type": "string"}, "color": nstr()}, ["name"]),
                    nullable=True,
                    description="`[]` when the customer has no tags; `null` when the "
                                "upstream has no tags (answers built from another dialect)"),
        "customData": {"type": "object", "additionalProperties": ANY},
    }
    schemas["CrunchCustomer"] = obj(crunch_out, list(crunch_out),
                                    description="The full Customer model.")

    # --- reach ----------------------------------------------------------------------------
    reach_data = {
        "customerId": {"type": "string", "description": "cannot be cleared (no `null`)"},
        "email": nstr(), "phone": nstr(), "firstName": nstr(), "lastName": nstr(),
        "emailOptOut": {"type": "boolean", "nullable": True},
        "smsOptOut": {"type": "boolean", "nullable": True},
        "customerDetailUrl": nstr(),
        "createdAt": nstr(format="date-time", description="RFC 3339"),
    }
    schemas["ReachUpdate"] = obj(
        {"data": obj(reach_data, additional=False,
                     description="Unknown keys are rejected unless "
                                 "`ignoreUnknownFields=true` (then accepted, not saved).")},
        ["data"], False)
    record_ids = ["id", "schema_definition_id", "schemaDefinitionId", "platform_id",
                  "platformId", "business_id", "businessId", "resource_external_id",
                  "resourceExternalId"]
    stamps = ["created_at", "createdAt", "updated_at", "updatedAt"]
    record = {k: nstr() for k in record_ids}
    record.update({k: nstr(format="date-time") for k in stamps})
    out_data = {k: dict(v) for k, v in reach_data.items()}
    out_data["customerId"] = nstr()
    record["data"] = obj(out_data, list(reach_data))
    schemas["ReachRecord"] = obj(record, record_ids + stamps + ["data"],
                                 description="ids and timestamps in snake_case and camelCase")
    schemas["ReachSuccess"] = obj(
        {"success": {"type": "boolean", "enum": [True]},
         "message": {"type": "string"},
         "data": obj({"result": ref("schemas", "ReachRecord"), "included": arr(ANY)},
                     ["result", "included"])},
        ["success", "message", "data"])

    return {
        "schemas": schemas,
        "responses": responses,
        "headers": headers,
        "parameters": {
            "NumericId": {
                "name": "id", "in": "path", "required": True,
                "description": "Customer id: a positive integer (at most 19 digits).",
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
                "examples": {"helpscout": {"value": 100}, "helpcrunch": {"value": 12345}},
            },
            "ReachExternalId": {
                "name": "externalId", "in": "path", "required": True,
                "description": "1-256 characters, no `/`, no control characters, not `.` or "
                               "`..`; percent-decoded strictly. Toward a numeric-id upstream "
                               "it must be a positive integer (else 400 naming `id`).",
                "schema": {"type": "string", "minLength": 1, "maxLength": 256,
                           "pattern": "^(?!\\.\\.?$)[^/\\u0000-\\u001f\\u007f-\\u009f]+$"},
                "examples": {"reach": {"value": "cus_demo"}, "numeric": {"value": "12345"},
                             "helpscout": {"value": "100"}},
            },
            "EntryId": {
                "name": "entryId", "in": "path", "required": True,
                "description": "Entry id: a positive integer (at most 19 digits); a single-slot "
                               "upstream (helpcrunch, reach) holds only entry `1`.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
                "examples": {"slot": {"value": 1}, "helpscout": {"value": 1001}},
            },
            "ReachTenant": {
                "name": "reach-tenant-id", "in": "header", "required": False,
                "description": "Passed through to a reach upstream.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            },
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "Route `clients.bearer_file`, or a token from "
                                      "`POST /v2/oauth2/token`."},
            "apiKey": {"type": "http", "scheme": "basic",
                       "description": "Help Scout v1 style: the API key as the Basic user "
                                      "name (route `clients.basic_key_file`)."},
            "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/v2/oauth2/token", "scopes": {}}},
                "description": "Route `clients.oauth_clients`; tokens are signed by the "
                               "gateway and accepted by every replica."},
        },
    }


def json_body(schema_name, required=True):
    return {"required": required,
            "content": {"application/json": {"schema": ref("schemas", schema_name)}}}


def op(d, op_id, summary, success, params=(), body=None, description=None, extra=(),
       statuses=None):
    o = {"tags": [d], "operationId": op_id, "summary": summary}
    if description:
        o["description"] = description
    if params:
        o["parameters"] = list(params)
    if body:
        o["requestBody"] = body
    if statuses is None:
        statuses = [s for s in ERROR_STATUSES if body or s not in ("413", "415")]
    o["responses"] = {**success, **error_responses(d, statuses), **dict(extra)}
    o["security"] = SECURITY[d]
    return o


SECURITY = {
    HS2: [{}, {"bearer": []}, {"oauth2": []}],
    HS1: [{}, {"apiKey": []}, {"bearer": []}],
    CRUNCH: [{}, {"bearer": []}, {"apiKey": []}],
    REACH: [{}, {"bearer": []}, {"apiKey": []}],
}


def paths():
    nid = ref("parameters", "NumericId")
    hs2_get = {"200": {"description": "The customer (HAL).",
                       "content": {"application/hal+json": {"schema": ref("schemas",
                                                                          "Hs2Customer")}}}}
    no_content = {"204": {"description": "Applied.", "headers": dropped_header()}}
    crunch_ok = {"200": {"description": "The full Customer model after the change.",
                         "headers": dropped_header(),
                         "content": {"application/json": {"schema": ref("schemas",
                                                                        "CrunchCustomer")}}}}
    reach_ok = {"200": {"description": "`message` is `Customer updated` / `Customer retrieved`.",
                        "headers": dropped_header(),
                        "content": {"application/json": {"schema": ref("schemas",
                                                                       "ReachSuccess")}}}}
    hs1_item = {"application/json": {"schema": ref("schemas", "Hs1Item")}}
    reload_q = {"name": "reload", "in": "query", "required": False,
                "description": "`true` (any case) answers with the customer.",
                "schema": {"type": "boolean"}}
    ignore_q = {"name": "ignoreUnknownFields", "in": "query", "required": False,
                "description": "exactly `true` or `false` (default); anything else is 400.",
                "schema": {"type": "boolean", "default": False}}
    tenant = ref("parameters", "ReachTenant")
    token_errors = {
        "400": {"description": "Missing or unsupported `grant_type`, missing client "
                               "credentials, body not a JSON object; an unreadable body "
                               "answers in `vnd.error`.",
                "content": {"application/json": {"schema": ref("schemas", "OAuthError")},
                            ERROR_MEDIA[HS2]: {"schema": ref("schemas", "Hs2Error")}}},
        "401": {"description": "Unknown client, bad secret, or a route that issues no tokens.",
                "content": {"application/json": {"schema": ref("schemas", "OAuthError")}}},
    }
    eid = ref("parameters", "EntryId")
    location = {"Location": {"required": True,
                             "description": "The new resource's path on the gateway, route "
                                            "prefix included (a relative reference).",
                             "schema": {"type": "string"}}}
    resource_id = {"Resource-ID": {"required": True,
                                   "description": "The id the upstream assigned to the entry "
                                                  "(`1` for a single slot).",
                                   "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}}}
    sub = {}
    for coll, name in SUB_NAMES.items():
        body = json_body(f"Hs2Entry{name}")
        sub[f"/v2/customers/{{id}}/{coll}"] = {
            "parameters": [nid],
            "post": op(HS2, f"hs2Create{name}", f"Help Scout v2: add a {coll} entry",
                       {"201": {"description": "Created: empty body.",
                                "headers": {**resource_id, **location}},
                        "204": {"description": "Nothing created: the entry was dropped "
                                               "(`unmappable = \"drop\"`).",
                                "headers": dropped_header()}},
                       body=body,
                       description=f"Translated like `add /{coll}`."),
        }
        sub[f"/v2/customers/{{id}}/{coll}/{{entryId}}"] = {
            "parameters": [nid, eid],
            "put": op(HS2, f"hs2Update{name}", f"Help Scout v2: replace a {coll} entry",
                      no_content, body=body,
                      description=f"Translated like `replace /{coll}/{{entryId}}`."),
            "delete": op(HS2, f"hs2Delete{name}", f"Help Scout v2: remove a {coll} entry",
                         no_content,
                         description=f"Translated like `remove /{coll}/{{entryId}}`."),
        }
    sub["/v2/customers/{id}/address"] = {
        "parameters": [nid],
        "post": op(HS2, "hs2CreateAddress", "Help Scout v2: set the address",
                   {"201": {"description": "Created: empty body, no `Resource-ID`.",
                            "headers": {**location, **dropped_header()}},
                    "204": {"description": "Nothing created: every field was dropped "
                                           "(`unmappable = \"drop\"`).",
                            "headers": dropped_header()}},
                   body=json_body("Hs2Address"),
                   description="Translated like `replace /address/<field>` for each field."),
        "put": op(HS2, "hs2UpdateAddress", "Help Scout v2: replace the address", no_content,
                  body=json_body("Hs2Address"),
                  description="Translated like `replace /address/<field>` for each field."),
        "delete": op(HS2, "hs2DeleteAddress", "Help Scout v2: clear the address", no_content,
                     description="Translated like `remove /address/<field>` for each field."),
    }
    return with_sub_resources(sub, {
        "/v2/customers/{id}": {
            "parameters": [nid],
            "patch": op(HS2, "hs2PatchCustomer", "Help Scout v2: JSON-Patch-like update",
                        no_content, body=json_body("Hs2Patch")),
            "put": op(HS2, "hs2PutCustomer", "Help Scout v2: overwrite the scalar fields",
                      no_content, body=json_body("Hs2Put")),
            "get": op(HS2, "hs2GetCustomer", "Help Scout v2: read a customer", hs2_get),
        },
        "/v2/customers/{id}/properties": {
            "parameters": [nid],
            "patch": op(HS2, "hs2PatchProperties", "Help Scout v2: set or remove properties",
                        no_content, body=json_body("Hs2PropertiesPatch")),
        },
        "/v2/oauth2/token": {
            "post": {
                **op(HS2, "hs2Token", "Help Scout v2: OAuth client-credentials token",
                     {"200": {"description": "A gateway-signed token.",
                              "content": {"application/json": {
                                  "schema": ref("schemas", "TokenResponse")}}}},
                     body={"required": True, "content": {
                         "application/x-www-form-urlencoded": {
                             "schema": ref("schemas", "TokenRequest")},
                         "application/json": {"schema": ref("schemas", "TokenRequest")}}},
                     extra=token_errors.items(),
                     # answered by the gateway itself: never proxied, never rate limited
                     statuses=["405", "413", "500"]),
                "security": [{}],
            },
        },
        "/v1/customers/{id}.json": {
            "parameters": [nid],
            "put": op(HS1, "hs1PutCustomer", "Help Scout v1: partial update",
                      {"200": {"description": "Applied: empty body, or with `reload=true` "
                                              "`{\"item\": customer}`.",
                               "headers": dropped_header(),
                               "content": hs1_item}},
                      params=[reload_q], body=json_body("Hs1Put")),
            "get": op(HS1, "hs1GetCustomer", "Help Scout v1: read a customer",
                      {"200": {"description": "`{\"item\": customer}`", "content": hs1_item}}),
        },
        "/v1/customers/{id}": {
            "parameters": [nid],
            "patch": op(CRUNCH, "crunchPatchCustomer", "HelpCrunch: partial update",
                        crunch_ok, body=json_body("CrunchUpdate")),
            "put": op(CRUNCH, "crunchPutCustomer", "HelpCrunch: full update", crunch_ok,
                      body=json_body("CrunchUpdate")),
            "get": op(CRUNCH, "crunchGetCustomer", "HelpCrunch: read a customer",
                      {"200": {"description": "The full Customer model.",
                               "content": crunch_ok["200"]["content"]}}),
        },
        "/api/resources/customers/{externalId}": {
            "parameters": [ref("parameters", "ReachExternalId")],
            "patch": op(REACH, "reachPatchCustomer", "Reach: partial update", reach_ok,
                        params=[ignore_q, tenant], body=json_body("ReachUpdate")),
            "get": op(REACH, "reachGetCustomer", "Reach: read a customer",
                      {"200": {"description": "`message` is `Customer retrieved`.",
                               "content": reach_ok["200"]["content"]}},
                      params=[tenant]),
        },
    })


def with_sub_resources(sub, paths_):
    """The sub-resource paths right after the other helpscout-v2 customer paths."""
    out = {}
    for key, item in paths_.items():
        out[key] = item
        if key == "/v2/customers/{id}/properties":
            out.update(sub)
    return out


def document():
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "patchbay client-facing API",
            "version": "0.1.0",
            "description": (
                "Every endpoint patchbay serves to clients, in the four vendor dialects it "
                "speaks. Paths are the dialect paths as mounted at the gateway root; a route's "
                "`path_prefix` (e.g. `/hs2-to-crunch`) is a deployment detail: use the "
                "`prefix` server variable or a base URL that includes it. Each route speaks "
                "one client dialect (or `auto`, which picks by method and path shape): the "
                "operations of a route are those tagged with its dialect. "
                "`/v1/customers/{id}.json` (helpscout-v1) and `/v1/customers/{id}` "
                "(helpcrunch) differ only by the suffix: their `id` is a positive integer, so "
                "a `.json` path never matches the helpcrunch template. Requests are validated "
                "and translated to the route's upstream; answers and errors come back in the "
                "client's dialect. See docs/openapi.md, docs/dialects.md and docs/errors.md."
            ),
        },
        "servers": [{
            "url": "http://{host}{prefix}",
            "description": "A gateway listener and a route prefix (`make run`: "
                           "127.0.0.1:8080 with `/hs2-to-crunch`, `/crunch-to-reach`, "
                           "`/reach-to-hs2`, `/hs1-to-hs2`, `/hs2-to-hs1`, or `` for `auto`).",
            "variables": {"host": {"default": "127.0.0.1:8080"}, "prefix": {"default": ""}},
        }],
        "tags": [
            {"name": HS2, "description": "Help Scout Mailbox API v2 clients."},
            {"name": HS1, "description": "Help Scout legacy API v1 clients (`.json` paths)."},
            {"name": CRUNCH, "description": "HelpCrunch API v1 clients."},
            {"name": REACH, "description": "Reach clients."},
        ],
        "paths": paths(),
        "components": components(),
    }


def main():
    text = json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv[1:]:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run python3 openapi/generate.py", file=sys.stderr)
            return 1
        print(f"{OUT.name} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
