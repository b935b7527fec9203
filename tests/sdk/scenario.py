"""Shared runner for the Python SDK scenarios (tests/sdk/*.py).

Each scenario is one published Help Scout client library driving ordinary customer calls against
a gateway route. argv[1] is a JSON config from tests/sdks.rs:
  base     the route's base URL (prefix included, without /v2 or /v1)
  id       the customer id (seeded by the test)
  colls    the entry collections the upstream can hold (e.g. ["emails", "phones"])
  address  whether the upstream can hold a whole address
  client_id / client_secret (v2) or api_key (v1)
A step that raises or whose check fails is reported; the last stdout line is a JSON summary and
the exit code is 1 when any step failed.
"""
import json
import sys
import traceback

CONFIG = json.loads(sys.argv[1])
RESULTS = []

# One entry to create and one value to update it with, per collection (types the vendor lists).
ENTRIES = {
    "emails": ({"type": "work", "value": "grace@sdk.example"}, {"type": "work", "value": "hopper@sdk.example"}),
    "phones": ({"type": "work", "value": "555-0100"}, {"type": "work", "value": "555-0199"}),
    "chats": ({"type": "skype", "value": "grace.sdk"}, {"type": "skype", "value": "hopper.sdk"}),
    "social-profiles": ({"type": "twitter", "value": "https://twitter.com/grace"}, {"type": "twitter", "value": "https://twitter.com/hopper"}),
    "websites": ({"value": "https://grace.example"}, {"value": "https://hopper.example"}),
}
ADDRESS = {"city": "Arlington", "state": "VA", "postalCode": "22201", "country": "US", "lines": ["1 Navy Way"]}
ADDRESS2 = {"city": "New York", "state": "NY", "postalCode": "10001", "country": "US", "lines": ["2 Broadway"]}
EMBEDDED = {"social-profiles": "social_profiles"}


def step(name, fn):
    """Runs one call; an exception is the call failing."""
    try:
        out = fn()
        RESULTS.append({"step": name, "ok": True})
        return out
    except Exception as e:  # noqa: BLE001 - any SDK error is the finding
        RESULTS.append({"step": name, "ok": False, "error": f"{type(e).__name__}: {e}"[:2000],
                        "trace": traceback.format_exc()[-600:]})
        return None


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def entries(customer, coll):
    """The entries of a collection in a v2 GET customer answer."""
    return ((customer or {}).get("_embedded") or {}).get(EMBEDDED.get(coll, coll)) or []


def finish():
    ok = all(r["ok"] for r in RESULTS)
    print(json.dumps({"ok": ok, "steps": RESULTS}))
    sys.exit(0 if ok else 1)
