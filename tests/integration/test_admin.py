"""The admin page: who may see it, what it shows (masked), its actions."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import time
import unittest

from rig import BASE, Rig

ADMIN_KEY = "admin-key-abcdefghijklmnopqrstuvwxyz0123456789"


def basic(user, password):
    return {"Authorization": "Basic " +
            base64.b64encode(f"{user}:{password}".encode()).decode()}


def synthetic_record(store, created, expires, status=1, last_error=0,
                     refresh=True, token="eyJhbGciOi"):
    """A record as the admin list sees it: its head (docs/STORE.md).  The
    sealed part is random, so only key-less readers (list, gc) accept it."""
    name = secrets.token_hex(32)
    head = b"ISC\x01" + b"\0\0\0\0" + struct.pack(
        ">BBBxH2x4s4xqqqqqq", status, last_error, 1 if refresh else 0,
        len(token), token[:4].encode(), created, created, expires, 0,
        created, 0)
    d = store / name[:2]
    d.mkdir(mode=0o700, exist_ok=True)
    p = d / name
    p.write_bytes(head + os.urandom(60))
    p.chmod(0o600)
    return name


def csrf_token(key_file, message):
    """A CSRF token as the program makes one: HMAC-SHA256 of the message
    under the CSRF key derived from the store key (HKDF-SHA256, no salt),
    base64url.  How a test holds a token from an hour it cannot wait for."""
    def mac(key, data):
        return hmac.new(key, data, hashlib.sha256).digest()
    csrf_key = mac(mac(bytes(32), key_file.read_bytes()),
                   b"insuresign-connect csrf v1\x01")
    token = mac(csrf_key, message.encode())
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode()


def admin_csrf(key_file, who, hour):
    return csrf_token(key_file, f"admin:{hour}:{who}")


class AdminTest(unittest.TestCase):
    rig_options = {}
    admin = {}
    admin_key = False

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, ini={"admin": cls.admin},
                      **cls.rig_options)
        cls.addClassCleanup(cls.rig.stop)
        if cls.admin_key:
            cls.rig.settings["admin"]["key_file"] = cls.rig.secret_file(
                "admin.key", ADMIN_KEY + "\n")
        cls.rig.settings["app"]["audit_log"] = cls.rig.out / "audit.log"
        cls.rig.write_config()
        cls.rig.restart_server()

    def setUp(self):
        self.rig.mock.reset(keep_grants=True)
        for r in self.rig.records():
            r.unlink()

    def get(self, path, headers=None):
        return self.rig.browser().get(self.rig.url(BASE + path),
                                      headers=headers)

    def linked(self):
        b = self.rig.browser()
        self.assertEqual(self.rig.connect(b).status, 303)
        return b


class AdminOff(AdminTest):

    def test_never_open_by_default(self):
        r = self.get("/admin")
        self.assertEqual(r.status, 403)
        self.assertIn("[admin] users", r.text)
        self.assertEqual(self.get("/admin?format=json").status, 403)
        r = self.get("/admin", headers={"Authorization": "Bearer " + "x" * 40})
        self.assertEqual(r.status, 403)


class RemoteUser(AdminTest):
    """The web server authenticates (lighttpd mod_auth); we allow names."""

    admin = {"users": "alice, carol"}
    rig_options = {"admin_auth": {"alice": "wonderland", "bob": "builder"}}

    def test_listed_user(self):
        self.linked()
        r = self.get("/admin", basic("alice", "wonderland"))
        self.assertEqual(r.status, 200)
        self.assertIn(self.rig.records()[0].name[:12], r.text)
        self.assertEqual(
            r.header("Content-Security-Policy"),
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        self.assertNotIn("<script", r.text)

    def test_authenticated_but_not_listed(self):
        r = self.get("/admin", basic("bob", "builder"))
        self.assertEqual(r.status, 403)
        self.assertIn("not in [admin] users", r.text)

    def test_the_web_server_asks_first(self):
        self.assertEqual(self.get("/admin").status, 401)
        self.assertEqual(self.get("/admin", basic("alice", "x")).status, 401)

    def test_actions_need_csrf_and_same_origin_and_post(self):
        self.linked()
        name = self.rig.records()[0].name
        auth = basic("alice", "wonderland")
        page = self.get("/admin/record?id=" + name, auth)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        b = self.rig.browser()
        url = self.rig.url(BASE + "/admin/delete")
        r = b.post(url, {"id": name}, headers=auth)
        self.assertEqual(r.status, 403)
        r = b.post(url, {"id": name, "csrf": "A" * 43}, headers=auth)
        self.assertEqual(r.status, 403)
        r = b.post(url, {"id": name, "csrf": csrf},
                   headers={**auth, "Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        r = b.get(url + "?id=" + name + "&csrf=" + csrf, headers=auth)
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "POST")
        self.assertEqual(len(self.rig.records()), 1)
        # A good token for a record id that is none: nothing is touched.
        for bad in ("", name[:12], name + "0"):
            r = b.post(url, {"id": bad, "csrf": csrf},
                       headers={**auth, "Origin": self.rig.origin})
            self.assertEqual(r.status, 400, bad)
            self.assertIn("Bad record id", r.text)
        self.assertEqual(len(self.rig.records()), 1)
        # Another admin's token is not this admin's.
        r = b.post(url, {"id": name, "csrf": csrf},
                   headers=basic("bob", "builder"))
        self.assertEqual(r.status, 403)
        r = b.post(url, {"id": name, "csrf": csrf},
                   headers={**auth, "Origin": self.rig.origin})
        self.assertEqual(r.status, 303)
        self.assertIn("/admin?done=deleted", r.location)
        self.assertEqual(self.rig.records(), [])
        self.assertIn("Deleted.", b.get(r.location, headers=auth).text)
        audit = (self.rig.out / "audit.log").read_text()
        self.assertRegex(audit, r"admin_delete record=%s by=alice" % name[:12])

    def test_csrf_token_lasts_an_hour_or_two(self):
        self.linked()
        name = self.rig.records()[0].name
        auth = basic("alice", "wonderland")
        hour = int(time.time()) // 3600
        page = self.get("/admin/record?id=" + name, auth)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        now = int(time.time()) // 3600
        # The page's token is the one this test can make for any hour.
        self.assertIn(csrf, {admin_csrf(self.rig.key, "alice", h)
                             for h in (hour, now)})
        url = self.rig.url(BASE + "/admin/delete")
        b = self.rig.browser()
        stale = [admin_csrf(self.rig.key, "alice", now - 2),
                 admin_csrf(self.rig.key, "alice", now + 1)]
        # What the token used to be: HMAC("admin:alice"), good forever.
        forever = csrf_token(self.rig.key, "admin:alice")
        for token in stale + [forever]:
            r = b.post(url, {"id": name, "csrf": token}, headers=auth)
            self.assertEqual(r.status, 403, token)
            self.assertIn("expired", r.text)
        self.assertEqual(len(self.rig.records()), 1)
        # Last hour's token still works: a page loaded before the hour
        # turned.
        r = b.post(url, {"id": name,
                         "csrf": admin_csrf(self.rig.key, "alice", now - 1)},
                   headers=auth)
        self.assertEqual(r.status, 303)
        self.assertEqual(self.rig.records(), [])

    def test_origin_null_from_our_own_page(self):
        # Our pages send Referrer-Policy: no-referrer, so a browser posts
        # their forms with "Origin: null"; Fetch Metadata (which no page
        # can forge) then says whether it came from this origin.
        self.linked()
        name = self.rig.records()[0].name
        auth = basic("alice", "wonderland")
        page = self.get("/admin/record?id=" + name, auth)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        url = self.rig.url(BASE + "/admin/refresh")
        b = self.rig.browser()
        for site in ("cross-site", "same-site", None):
            h = {**auth, "Origin": "null"}
            if site:
                h["Sec-Fetch-Site"] = site
            r = b.post(url, {"id": name, "csrf": csrf}, headers=h)
            self.assertEqual(r.status, 403, site)
        r = b.post(url, {"id": name, "csrf": csrf},
                   headers={**auth, "Origin": "null",
                            "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(r.status, 303)

    def refresh_now(self, before_press=None):
        """A linked record, and its page's "Refresh now" pressed (after
        before_press(record file)): the record's file, the answer, and
        the browser that pressed it.  self.csrf: the page's token."""
        self.linked()
        record = self.rig.records()[0]
        auth = basic("alice", "wonderland")
        page = self.get("/admin/record?id=" + record.name, auth)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        self.assertIn('action="%s/admin/refresh"' % BASE, page.text)
        if before_press:
            before_press(record)
        self.csrf = csrf
        b = self.rig.browser()
        r = b.post(self.rig.url(BASE + "/admin/refresh"),
                   {"id": record.name, "csrf": csrf}, headers=auth)
        return record, r, b

    def outcome_page(self, r, b):
        self.assertEqual(r.status, 303)
        page = b.get(r.location, headers=basic("alice", "wonderland"))
        self.assertEqual(page.status, 200)
        return page

    def test_refresh_now(self):
        record, r, b = self.refresh_now()
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)
        page = self.outcome_page(r, b)
        self.assertIn("Refreshed", page.text)
        self.assertIn("admin_refresh", page.text)      # its audit trail
        self.assertIn("by=alice", page.text)

    def test_refresh_now_when_the_grant_is_gone(self):
        self.rig.mock.config(error="invalid_grant",
                             fault_grant="refresh_token")
        record, r, b = self.refresh_now()
        self.assertIn("done=reconnect", r.location)
        page = self.outcome_page(r, b)
        self.assertIn("InsureSign no longer accepts this link: it needs a "
                      "reconnect by its user.", page.text)
        self.assertIn("<dt>Status</dt><dd>needs reconnect</dd>", page.text)
        self.assertIn("Last refresh</dt><dd>never, invalid_grant",
                      page.text)
        self.assertRegex(page.text, r"admin_refresh record=%s by=alice "
                         r"result=invalid_grant" % record.name[:12])
        j = self.get("/admin?format=json",
                     basic("alice", "wonderland")).json()
        self.assertEqual(j["totals"]["needs_reconnect"], 1)

    def test_refresh_now_when_insuresign_fails(self):
        self.rig.mock.config(status=503, fault_grant="refresh_token")
        record, r, b = self.refresh_now()
        self.assertIn("done=refresh-failed", r.location)
        page = self.outcome_page(r, b)
        self.assertIn("The refresh failed: see the last refresh result.",
                      page.text)
        # Still linked, its token kept, the failure shown.
        self.assertIn("<dt>Status</dt><dd>refresh failing</dd>", page.text)
        self.assertIn("Last refresh</dt><dd>never, server_error", page.text)
        self.assertIn("<dt>Refresh token</dt><dd>present</dd>", page.text)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)

    def test_refresh_now_when_the_record_cannot_be_read(self):
        def tamper(record):
            data = bytearray(record.read_bytes())
            data[-1] ^= 1               # the AEAD tag: no longer opens
            record.write_bytes(bytes(data))
        record, r, b = self.refresh_now(tamper)
        self.assertEqual(r.status, 503)
        self.assertIn("Store unavailable", r.text)
        self.assertIn("the log says why", r.text)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 0)
        self.assertIn("cannot be decrypted", self.rig.logs())

    def test_refresh_now_when_the_record_is_gone(self):
        record, r, b = self.refresh_now(lambda record: record.unlink())
        self.assertEqual(r.status, 404)
        self.assertIn("No such record", r.text)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 0)
        self.assertEqual(self.rig.records(), [])
        # Deleting it says the same.
        r = b.post(self.rig.url(BASE + "/admin/delete"),
                   {"id": record.name, "csrf": self.csrf},
                   headers=basic("alice", "wonderland"))
        self.assertEqual(r.status, 404)
        self.assertIn("It may have been deleted already.", r.text)


class BearerKey(AdminTest):
    """No web server authentication: the admin bearer key."""

    admin_key = True

    def auth(self):
        return {"Authorization": "Bearer " + ADMIN_KEY}

    def test_right_and_wrong_keys(self):
        self.assertEqual(self.get("/admin", self.auth()).status, 200)
        r = self.get("/admin", {"Authorization": "Bearer " + "x" * 44})
        self.assertEqual(r.status, 401)
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        self.assertEqual(self.get("/admin").status, 401)

    def test_tokens_are_masked_everywhere(self):
        for _ in range(2):
            self.linked()
        self.rig.mock.reset(keep_grants=True)
        pages = [self.get("/admin", self.auth()),
                 self.get("/admin?format=json", self.auth())]
        for p in self.rig.records():
            pages.append(self.get("/admin/record?id=" + p.name, self.auth()))
            pages.append(self.get("/admin/record?format=json&id=" + p.name,
                                  self.auth()))
        issued = self.rig.mock.tokens()
        secrets_ = issued["access_tokens"] + issued["refresh_tokens"]
        for page in pages:
            self.assertEqual(page.status, 200, page.text[:300])
            for s in secrets_:
                self.assertNotIn(s, page.text)
        js = pages[1].json()
        self.assertEqual(js["totals"]["connected"], 2)
        for rec in js["records"]:
            self.assertRegex(rec["fingerprint"], r"^at_.\.\.\.\(35\)$")
        detail = pages[3].json()
        self.assertEqual(detail["token_type"], "Bearer")
        self.assertIn("linked", detail["audit"])

    def test_one_json_view_for_the_admin_page_and_the_cli(self):
        self.linked()
        name = self.rig.records()[0].name
        detail = self.get("/admin/record?format=json&id=" + name,
                          self.auth()).json()
        listed = self.get("/admin?format=json", self.auth()).json()
        shown = json.loads(self.rig.cli("show", name[:8]).stdout)
        cli_list = json.loads(self.rig.cli("list", "--json").stdout)
        for j in (detail, listed["records"][0], shown, cli_list[0]):
            j.pop("expires_in")         # seconds from now: may tick
        self.assertNotEqual(detail.pop("audit"), "")
        self.assertEqual(detail, shown)
        self.assertEqual(detail["token_type"], "Bearer")
        self.assertEqual(listed["records"][0], cli_list[0])
        self.assertEqual(set(shown) - set(cli_list[0]),
                         {"token_type", "scope", "token", "events"})

    def test_values_are_escaped(self):
        self.rig.mock.config(members={"scope": "<script>alert(1)</script>",
                                      "access_token": "<script>x</script>"
                                      + "y" * 20},
                             fault_grant="authorization_code")
        self.linked()
        name = self.rig.records()[0].name
        for page in (self.get("/admin", self.auth()),
                     self.get("/admin/record?id=" + name, self.auth())):
            self.assertEqual(page.status, 200)
            self.assertNotIn("<script", page.text)
        self.assertIn("&lt;scr", self.get("/admin", self.auth()).text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;",
                      self.get("/admin/record?id=" + name, self.auth()).text)

    def test_pagination_sorting_filtering(self):
        now = int(time.time())
        names = [synthetic_record(self.rig.store, created=now - i * 60,
                                  expires=now + 3600 + (i * 37) % 1000)
                 for i in range(120)]
        failing = synthetic_record(self.rig.store, created=now - 9999,
                                   expires=now + 10, last_error=4)
        gone = synthetic_record(self.rig.store, created=now - 8888,
                                expires=0, status=2, refresh=False)
        j = self.get("/admin?format=json", self.auth()).json()
        self.assertEqual(j["matching"], 122)
        self.assertEqual([r["id"] for r in j["records"]], names[:50])
        self.assertEqual(j["totals"], {"connected": 121,
                                       "needs_reconnect": 1,
                                       "refresh_failing": 1,
                                       "expiring_within_hour": 0,
                                       "events_waiting": 0,
                                       "events_undeliverable": 0,
                                       "events_oldest": None})
        j3 = self.get("/admin?format=json&page=3", self.auth()).json()
        self.assertEqual([r["id"] for r in j3["records"]],
                         names[100:] + [gone, failing])
        j = self.get("/admin?format=json&sort=expires", self.auth()).json()
        exp = [r["expires_in"] for r in j["records"] if "expires_in" in r]
        self.assertEqual(exp, sorted(exp))
        j = self.get("/admin?format=json&sort=status", self.auth()).json()
        self.assertEqual([r["id"] for r in j["records"][:2]], [gone, failing])
        j = self.get("/admin?format=json&status=reconnect",
                     self.auth()).json()
        self.assertEqual([r["id"] for r in j["records"]], [gone])
        j = self.get("/admin?format=json&q=" + names[7][:6],
                     self.auth()).json()
        self.assertIn(names[7], [r["id"] for r in j["records"]])
        # The column headers' links keep the filter and the search.
        html = self.get("/admin?status=connected&q=" + names[7][:6],
                        self.auth())
        self.assertIn(f"?sort=expires&amp;status=connected&amp;q="
                      f"{names[7][:6]}", html.text)
        html = self.get("/admin?page=2", self.auth())
        self.assertIn("Page 2 of 3", html.text)
        self.assertIn('rel="next"', html.text)
        self.assertIn('rel="prev"', html.text)
        self.assertEqual(html.text.count("<tr><td>"), 50)

    def test_a_record_page_that_cannot_be_shown(self):
        for query, status, title in (
                ("", 400, "Bad record id"),
                ("?id=abcd", 400, "Bad record id"),
                ("?id=" + "0" * 64, 404, "No such record"),
                ("?id=" + synthetic_record(self.rig.store, 1, 2), 503,
                 "Record unreadable")):
            r = self.get("/admin/record" + query, self.auth())
            self.assertEqual(r.status, status, query)
            self.assertIn(f"<h1>{title}</h1>", r.text)

    def test_expiring_counts_only_links_that_will_lapse(self):
        # InsureSign's access tokens live an hour: every link's expires
        # within the hour.  Only those without a refresh token lapse.
        self.linked()                   # expires_in 3600, refresh token
        now = int(time.time())
        for expires in (now + 3600, now + 60):
            synthetic_record(self.rig.store, created=now, expires=expires)
        lapsing = synthetic_record(self.rig.store, created=now,
                                   expires=now + 600, refresh=False)
        synthetic_record(self.rig.store, created=now, expires=now + 7200,
                         refresh=False)
        j = self.get("/admin?format=json", self.auth()).json()
        self.assertEqual(j["totals"]["connected"], 5)
        self.assertEqual(j["totals"]["expiring_within_hour"], 1)
        self.assertIn("<strong>1</strong> expiring in the next hour",
                      self.get("/admin", self.auth()).text)
        # The same links as the "expiring" filter shows.
        j = self.get("/admin?format=json&status=expiring",
                     self.auth()).json()
        self.assertEqual([r["id"] for r in j["records"]], [lapsing])

    def test_stylesheet(self):
        r = self.get("/style.css")
        self.assertEqual(r.status, 200)
        self.assertIn("text/css", r.header("Content-Type"))


if __name__ == "__main__":
    unittest.main()
