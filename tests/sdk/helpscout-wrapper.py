"""PyPI helpscout-wrapper 0.0.3 (`helpscout.Client`) against the gateway: token, GET, PUT, and the
entry sub-resources through the wrapper's own methods. Methods the wrapper itself breaks are not
called (they could not work against Help Scout either): `Email.update` (calls a missing
`base_pus_request`), `Phone.update` and `SocialProfile.update` (POST to an entry URL), and the
address methods (they send `postal_code`, while the vendor requires `postalCode`)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import CONFIG, ENTRIES, check, entries, finish, step  # noqa: E402

from helpscout import Client  # noqa: E402

Client.base_api_url = CONFIG["base"] + "/v2"
client = step("token", lambda: Client(app_id=CONFIG["client_id"], app_secret=CONFIG["client_secret"]))
if client is None:
    finish()
cid = int(CONFIG["id"])
customer = client.customer

c = step("get", lambda: customer.get(cid))
step("get: first name", lambda: check(c and c.get("firstName") == "Ada", f"{c}"))
step("update (PUT)", lambda: check(customer.update(cid, "Grace", lastName="Hopper") == 204, "status"))
c = step("get after update", lambda: customer.get(cid))
step("names", lambda: check(c and (c.get("firstName"), c.get("lastName")) == ("Grace", "Hopper"), f"{c}"))

ENDPOINTS = {
    "emails": (customer.email, False),
    "phones": (customer.phone, False),
    "chats": (customer.chat_handler, True),
    "social-profiles": (customer.social_profile, False),
    "websites": (customer.website, True),
}
for coll in CONFIG["colls"]:
    endpoint, can_update = ENDPOINTS[coll]
    first, second = ENTRIES[coll]
    if coll == "websites":
        step(f"create {coll}", lambda: check(endpoint.create(cid, first["value"]) == 201, "status"))
    else:
        step(f"create {coll}", lambda: check(endpoint.create(cid, first["type"], first["value"]) == 201, "status"))
    c = step(f"get after create {coll}", lambda: customer.get(cid))
    found = [e for e in entries(c, coll) if e.get("value") == first["value"]]
    step(f"{coll} created", lambda: check(len(found) == 1, f"{entries(c, coll)}"))
    if not found:
        continue
    eid = found[0]["id"]
    if can_update:
        if coll == "websites":
            step(f"update {coll}", lambda: check(endpoint.update(cid, eid, second["value"]) == 204, "status"))
        else:
            step(f"update {coll}", lambda: check(
                endpoint.update(cid, eid, second["type"], second["value"]) == 204, "status"))
        c = step(f"get after update {coll}", lambda: customer.get(cid))
        step(f"{coll} updated", lambda: check(
            [e.get("value") for e in entries(c, coll) if e.get("id") == eid] == [second["value"]],
            f"{entries(c, coll)}"))
    step(f"delete {coll}", lambda: check(endpoint.delete(cid, eid) == 204, "status"))
    c = step(f"get after delete {coll}", lambda: customer.get(cid))
    step(f"{coll} deleted", lambda: check(
        not [e for e in entries(c, coll) if e.get("id") == eid], f"{entries(c, coll)}"))

finish()
