"""PyPI python-helpscout 2.0.2 (`helpscout.client.HelpScout`) against the gateway: token, GET,
PATCH, PUT, and every customer entry sub-resource the upstream can hold (see scenario.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import ADDRESS, ADDRESS2, CONFIG, ENTRIES, check, entries, finish, step  # noqa: E402

from helpscout.client import HelpScout  # noqa: E402

hs = HelpScout(app_id=CONFIG["client_id"], app_secret=CONFIG["client_secret"],
               base_url=CONFIG["base"] + "/v2/")
cid = CONFIG["id"]
path = f"customers/{cid}"


def get():
    # hit() yields the whole answer for a single resource.
    return hs.hit("customers", "get", cid)[0]


c = step("get", get)
step("get: first name", lambda: check(c and c.get("firstName") == "Ada", f"firstName: {c}"))
step("put", lambda: hs.hit("customers", "put", cid, data={"firstName": "Grace", "lastName": "Lovelace"}))
step("patch", lambda: hs.hit("customers", "patch", cid, data=[
    {"op": "replace", "path": "/lastName", "value": "Hopper"}]))
c = step("get after patch", get)
step("names", lambda: check(c and (c.get("firstName"), c.get("lastName")) == ("Grace", "Hopper"), f"{c}"))

for coll in CONFIG["colls"]:
    first, second = ENTRIES[coll]
    step(f"post {coll}", lambda: hs.hit(f"{path}/{coll}", "post", data=first))
    c = step(f"get after post {coll}", get)
    found = [e for e in entries(c, coll) if e.get("value") == first["value"]]
    step(f"{coll} created", lambda: check(len(found) == 1, f"{entries(c, coll)}"))
    if not found:
        continue
    eid = found[0]["id"]
    step(f"put {coll}", lambda: hs.hit(f"{path}/{coll}", "put", eid, data=second))
    c = step(f"get after put {coll}", get)
    step(f"{coll} updated", lambda: check(
        [e.get("value") for e in entries(c, coll) if e.get("id") == eid] == [second["value"]],
        f"{entries(c, coll)}"))
    step(f"delete {coll}", lambda: hs.hit(f"{path}/{coll}", "delete", eid))
    c = step(f"get after delete {coll}", get)
    step(f"{coll} deleted", lambda: check(
        not [e for e in entries(c, coll) if e.get("id") == eid], f"{entries(c, coll)}"))

if CONFIG["address"]:
    step("post address", lambda: hs.hit(f"{path}/address", "post", data=ADDRESS))
    step("put address", lambda: hs.hit(f"{path}/address", "put", data=ADDRESS2))
    c = step("get after put address", get)
    step("address", lambda: check(
        ((c or {}).get("_embedded") or {}).get("address", {}).get("city") == "New York", f"{c}"))
    step("delete address", lambda: hs.hit(f"{path}/address", "delete"))

finish()
