"""PyPI helpscout 0.1.3 (the Help Scout v1 client, `helpscout.HelpScout`) against the gateway:
GET a customer, change it and PUT the whole record back (the client always sends `reload=true`
and parses the customer it gets back, timestamps included), add an e-mail entry, then delete it
by its negative id."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import CONFIG, check, finish, step  # noqa: E402

import helpscout.base_api  # noqa: E402
from helpscout import HelpScout  # noqa: E402
from helpscout.models import Email  # noqa: E402

helpscout.base_api.BaseApi.BASE_URI = CONFIG["base"] + "/v1"
hs = HelpScout(CONFIG["api_key"])
cid = int(CONFIG["id"])

c = step("get", lambda: hs.Customers.get(cid))
step("get: first name", lambda: check(c is not None and c.first_name == "Ada", f"{c}"))
if c is None:
    finish()
c.first_name = "Grace"
c.last_name = "Hopper"
u = step("update names", lambda: hs.Customers.update(c))
step("updated names", lambda: check(
    u is not None and (u.first_name, u.last_name) == ("Grace", "Hopper"), f"{u}"))
# The client parses every timestamp it gets back and raises on a format Help Scout does not use
# ("Invalid format for converting to datetime"), which fails the step above.

if "emails" in CONFIG["colls"] and u is not None:
    u.emails = [Email(value="grace@sdk.example", location="work")]
    u2 = step("add email", lambda: hs.Customers.update(u))
    ids = [e.id for e in (u2.emails or [])] if u2 is not None else []
    step("email added", lambda: check(
        u2 is not None and [e.value for e in u2.emails] == ["grace@sdk.example"] and all(ids), f"{u2}"))
    if u2 is not None and ids:
        u2.emails = [Email(id=-ids[0], value="grace@sdk.example", location="work")]
        u3 = step("remove email", lambda: hs.Customers.update(u2))
        step("email removed", lambda: check(u3 is not None and not u3.emails, f"{u3}"))

finish()
