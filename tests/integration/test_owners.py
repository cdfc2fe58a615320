"""Who owns a link ([identity] owner, issue 13), for real: the web app's
users signed in by the web server (lighttpd mod_auth, Apache mod_auth_basic:
the shipped conf/lighttpd-auth.conf and conf/apache-auth-basic.conf), or
named by the web app's backend with connect tickets; the backend API by user
id; the admin page and the command line by user; and a site switched from
browser links to user links.
"""

import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rig import (APACHE_MODULES, BACKEND_KEY, BASE, NAVIGATE, OUT, ROOT,
                 Browser, Rig, free_port)

# The web app's users, as the web server's htpasswd file holds them.
USERS = {"alice": "alice-pw", "bob": "bob-pw", "Alice": "Alice-pw",
         "zo\u00eb@example.com": "zoe-pw", "admin": "admin-pw",
         # A name the web server takes and a user id cannot be.
         "u" * 256: "long-pw"}
ZOE = "zo\u00eb@example.com"
TICKET_TTL = 300        # src/ticket.h


def subkey(key_file, info):
    """A key derived from the store key as keyring.c does: HKDF-SHA256
    (RFC 5869), no salt, one block."""
    prk = hmac.new(bytes(32), key_file.read_bytes(), hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def record_name(key_file, owner):
    """The file name of a link: HMAC-SHA256 of "user:" + id (owner.c)."""
    key = subkey(key_file, b"insuresign-connect record name v1")
    return hmac.new(key, owner.encode(), hashlib.sha256).hexdigest()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal_ticket(key_file, user, return_to, expires, plain=None):
    """A connect ticket sealed as ticket.c seals one (key id, IV, AES-256-GCM
    of nonce, expiry, user and return_to), with whatever expiry the test
    needs: how a test holds a ticket older than it could wait for.  PLAIN:
    other plaintext, sealed just as well."""
    kid = subkey(key_file, b"insuresign-connect key id")[:4]
    key = subkey(key_file, b"insuresign-connect cookie v1")
    u, r = user.encode(), return_to.encode()
    if plain is None:
        plain = (os.urandom(16) + struct.pack(">q", expires) +
                 bytes([len(u)]) + u + bytes([len(r)]) + r)
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, plain, b"insuresign-connect ticket v1")
    return b64url(kid + iv + sealed)


def quote(user):
    return urllib.parse.quote(user, safe="")


class OwnersTest(unittest.TestCase):
    """One rig per class: SERVER, [identity] OWNER, the web server's
    sign-in (USERS) in web_server mode, the backend key, admin for
    [admin] users."""

    server = "lighttpd"
    owner = "web_server"
    rig_class = Rig

    @classmethod
    def setUpClass(cls):
        ini = {"identity": {"owner": cls.owner},
               "admin": {"users": "admin"}}
        cls.rig = cls.rig_class(cls.__name__, server=cls.server,
                                backend_key=True,
                                sign_in=USERS if cls.owner == "web_server"
                                else None, ini=ini, start=False)
        cls.addClassCleanup(cls.rig.stop)
        cls.rig.settings["app"]["audit_log"] = cls.rig.out / "audit.log"
        cls.rig.write_config()
        cls.rig.start_server()

    def setUp(self):
        self.rig.mock.reset()
        for r in self.rig.records():
            r.unlink()

    # -- helpers -------------------------------------------------------

    def url(self, path):
        return self.rig.url(BASE + path)

    def browser(self, user=None):
        """A browser, signed in to the web server as USER."""
        b = self.rig.browser()
        if user is not None:
            b.sign_in(self.rig.origin, user, USERS[user])
        return b

    def api(self, method, path, key=BACKEND_KEY, headers=None, body=None):
        """The web app's backend: no browser's sign-in, the backend key."""
        h = {} if key is None else {"Authorization": "Bearer " + key}
        h.update(headers or {})
        return self.rig.browser().request(method, self.url(path), body=body,
                                          headers=h)

    def user_token(self, user, **kw):
        """GET /token for USER (str: its UTF-8; bytes: as they are)."""
        return self.api("GET", "/token", headers={"X-InsureSign-User": (
            user.encode() if isinstance(user, str) else user)}, **kw)

    def status(self, b):
        return b.get(self.url("/status"), nav=False)

    def codes(self):
        return self.rig.mock.stats()["code_requests"]

    def secrets(self):
        issued = self.rig.mock.tokens()
        return issued["access_tokens"] + issued["refresh_tokens"]

    def assert_no_secret(self, text):
        for s in self.secrets():
            self.assertNotIn(s, text)
            # A JWT's signature alone is no better.
            if s.count(".") == 2:
                self.assertNotIn(s.rsplit(".", 1)[1], text)

    def program_log(self):
        return "\n".join(line for line in self.rig.logs().splitlines()
                         if "insuresign-connect[" in line)

    def broken_store(self):
        """The store made readable by others for a while: every use of it
        is refused (store_file.c checks its mode at each use)."""
        store = self.rig.store

        class Broken:
            def __enter__(self):
                os.chmod(store, 0o755)

            def __exit__(self, *exc):
                os.chmod(store, 0o700)
        return Broken()

    def link_expiring(self, b, seconds=30):
        """Connects B with an access token that is due at once."""
        self.rig.mock.config(expires_in=seconds,
                             fault_grant="authorization_code")
        self.assertEqual(self.rig.connect(b).status, 303)
        self.rig.mock.reset(keep_grants=True)


class WebServerBasics:
    """[identity] owner = web_server: what every server must do."""

    def test_each_user_connects_their_own_link(self):
        alice, bob = self.browser("alice"), self.browser("bob")
        self.assertFalse(self.status(alice).json()["connected"])
        r = self.rig.connect(alice)
        self.assertEqual(r.status, 303)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=connected"))
        self.assertTrue(self.status(alice).json()["connected"])
        self.assertFalse(self.status(bob).json()["connected"])
        self.assertEqual(self.rig.connect(bob).status, 303)
        self.assertTrue(self.status(bob).json()["connected"])
        # The link is the user's, not the browser's: alice on another one.
        other = self.browser("alice")
        self.assertIsNone(other.cookie("insuresign_session"))
        self.assertTrue(self.status(other).json()["connected"])
        # Named by a keyed hash of "user:" + the id; the id is nowhere in
        # clear on disk or in the program's log.
        names = sorted(p.name for p in self.rig.records())
        self.assertEqual(names, sorted(
            record_name(self.rig.key, "user:" + u) for u in ("alice", "bob")))
        for p in self.rig.records():
            self.assertNotIn(b"alice", p.read_bytes())
            self.assertNotIn(b"bob", p.read_bytes())
        self.assertNotRegex(self.program_log(), r"alice|bob")

    def test_a_callback_under_another_user_is_refused(self):
        alice = self.browser("alice")
        self.rig.mock.config(auto_approve=True)
        start = alice.get(self.url("/connect/start"))
        self.assertEqual(start.status, 302)
        callback = alice.get(start.location).location
        # Bob's credentials on the way back: the state is alice's.
        alice.sign_in(self.rig.origin, "bob", USERS["bob"])
        r = alice.get(callback)
        self.assertEqual(r.status, 403)
        self.assertIn("This sign-in is not valid here", r.text)
        # Nobody signed in: the web server refuses it before we see it.
        alice.sign_in(self.rig.origin, None, None)
        self.assertEqual(alice.get(callback).status, 401)
        self.assertEqual(self.codes(), 0)
        self.assertEqual(self.rig.records(), [])
        # The state was not spent: alice herself can still finish.
        alice.sign_in(self.rig.origin, "alice", USERS["alice"])
        r = alice.get(callback)
        self.assertEqual(r.status, 303, r.text)
        self.assertEqual(self.codes(), 1)
        self.assertEqual([p.name for p in self.rig.records()],
                         [record_name(self.rig.key, "user:alice")])


class WebServerMode(WebServerBasics):
    """The rest of web_server mode, and the backend API by user id."""

    def test_a_shared_browser_never_hands_on_a_link(self):
        b = self.browser("alice")
        self.assertEqual(self.rig.connect(b).status, 303)
        # Alice signs out, bob signs in on the same browser (its cookies
        # kept): bob is not connected, and his backend gets nothing.
        b.sign_in(self.rig.origin, "bob", USERS["bob"])
        self.assertFalse(self.status(b).json()["connected"])
        page = b.get(self.url("/connect"))
        self.assertIn("Not connected", page.text)
        self.assertEqual(self.user_token("bob").status, 404)
        self.assertEqual(self.user_token("alice").status, 200)

    def test_a_signed_in_name_that_is_no_user_id(self):
        b = self.browser("u" * 256)
        r = self.status(b)
        self.assertEqual((r.status, r.json()["error"]), (400, "bad_user"))
        self.assertIn("REMOTE_USER is not a user id", r.json()["message"])
        for path in ("/connect", "/connect/start"):
            r = b.get(self.url(path))
            self.assertEqual(r.status, 400)
            self.assertIn("Your user name cannot be used", r.text)
        self.assertIn("REMOTE_USER refused: a user id is 1 to 255 bytes",
                      self.program_log())
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)

    def test_a_link_that_needs_reconnecting(self):
        # An expired token InsureSign will not refresh: 502 for the user.
        self.link_expiring(self.browser("bob"), seconds=1)
        time.sleep(1.5)
        self.rig.mock.config(error="invalid_client")
        r = self.user_token("bob")
        self.assertEqual((r.status, r.json()["error"]),
                         (502, "invalid_client"))
        self.rig.mock.reset(keep_grants=True)
        self.link_expiring(self.browser("alice"))
        self.rig.mock.config(error="invalid_grant")
        r = self.user_token("alice")
        self.assertEqual((r.status, r.json()["error"]),
                         (409, "needs_reconnect"))
        link = self.api("GET", "/links/alice").json()
        self.assertEqual((link["connected"], link["needs_reconnect"],
                          link["expires_at"], link["refreshable"],
                          link["last_refresh_result"]),
                         (False, True, None, False, "invalid_grant"))
        page = self.browser("alice").get(self.url("/connect")).text
        self.assertIn("Needs reconnecting.", page)
        self.assertIn("Reconnect to InsureSign", page)

    def test_disconnect_takes_the_signed_in_users_token(self):
        alice, bob = self.browser("alice"), self.browser("bob")
        self.rig.connect(alice)
        self.rig.connect(bob)
        alice_csrf = self.status(alice).json()["csrf_token"]
        bob_csrf = self.status(bob).json()["csrf_token"]
        origin = {"Origin": self.rig.origin}
        # Bob's token under alice, alice's under bob: refused.
        for b, csrf in ((alice, bob_csrf), (bob, alice_csrf)):
            r = b.post(self.url("/disconnect"), {"csrf": csrf},
                       headers=origin)
            self.assertEqual((r.status, r.json()["error"]), (403, "csrf"))
            r = b.post(self.url("/disconnect"), {"csrf": csrf},
                       headers=dict(NAVIGATE, **origin))
            self.assertEqual(r.status, 403)
            self.assertIn("did not come from your account page", r.text)
        self.assertEqual(len(self.rig.records()), 2)
        r = alice.post(self.url("/disconnect"), {"csrf": alice_csrf},
                       headers=origin)
        self.assertEqual(r.status, 204)
        self.assertFalse(self.status(alice).json()["connected"])
        self.assertTrue(self.status(bob).json()["connected"])

    def test_backend_api_by_user(self):
        self.assertEqual(self.api("GET", "/links/alice").status, 404)
        self.rig.connect(self.browser("alice"))
        self.rig.connect(self.browser(ZOE))
        r = self.api("GET", "/links/alice")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        link = r.json()
        self.assertEqual(set(link), {
            "connected", "needs_reconnect", "since", "expires_at",
            "refreshable", "last_refresh", "last_refresh_result"})
        self.assertIs(link["connected"], True)
        self.assertIs(link["needs_reconnect"], False)
        self.assertRegex(link["since"], r"^\d{4}-\d\d-\d\dT")
        self.assert_no_secret(r.text)
        # A UTF-8 id, percent-encoded in the path, as the header's bytes.
        self.assertTrue(self.api("GET", "/links/" + quote(ZOE)).json()[
            "connected"])
        r = self.user_token(ZOE)
        self.assertEqual(r.status, 200)
        self.assertIn(r.json()["access_token"],
                      self.rig.mock.tokens()["access_tokens"])
        r = self.user_token("alice")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["token_type"], "Bearer")
        r = self.user_token("bob")
        self.assertEqual((r.status, r.json()["error"]),
                         (404, "not_connected"))
        # In this mode a session names nobody.
        r = self.api("GET", "/token",
                     headers={"X-InsureSign-Session": "A" * 43})
        self.assertEqual(r.status, 400)
        self.assertIn("X-InsureSign-User", r.json()["message"])
        # DELETE: gone, and gone again is fine (RFC 9110 9.2.2).
        self.rig.mock.config(fault_grant="revoke")
        self.assertEqual(self.api("DELETE", "/links/alice").status, 204)
        self.assertEqual(self.api("DELETE", "/links/alice").status, 204)
        self.assertEqual(self.api("GET", "/links/alice").status, 404)
        self.assertFalse(self.status(self.browser("alice")).json()[
            "connected"])
        self.assertEqual(self.user_token("alice").status, 404)
        self.assertEqual([p.name for p in self.rig.records()],
                         [record_name(self.rig.key, "user:" + ZOE)])
        audit = (self.rig.out / "audit.log").read_text()
        self.assertRegex(audit, r"disconnected record=[0-9a-f]{12} by=backend")

    def test_backend_api_errors(self):
        r = self.api("GET", "/links/alice", key=None)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"),
                         'Bearer realm="insuresign-connect"')
        self.assertEqual(self.api("GET", "/links/alice", key="x" * 40).status,
                         401)
        self.assertEqual(self.user_token("alice", key="x" * 40).status, 401)
        self.assertEqual(self.api("DELETE", "/links/alice", key=None).status,
                         401)
        rule = ("a user id is 1 to 255 bytes of UTF-8 without control "
                "characters")
        # Control characters (C0, DEL, C1), too long, not UTF-8 (cut short,
        # overlong, a surrogate, past U+10FFFF).  lighttpd itself refuses
        # a path with a C0 control or DEL (and an overlong "/") with 400.
        for bad in ("%01", "a%7Fb", "a%C2%85b", "a" * 256, "%C3%28",
                    "%C0%AF", "%ED%A0%80", "%F4%90%80%80"):
            for method in ("GET", "DELETE"):
                r = self.api(method, "/links/" + bad)
                self.assertEqual(r.status, 400, bad)
                if self.server == "lighttpd" and bad in ("%01", "a%7Fb",
                                                         "%C0%AF"):
                    continue
                self.assertEqual(r.json(), {"error": "bad_user",
                                            "message": rule}, bad)
        # The longest id is an id: simply not connected.
        self.assertEqual(self.api("GET", "/links/" + "a" * 255).status, 404)
        for bad in (b"a" * 256, b"\xc3\x28", b"\xe0\x80\xaf", b""):
            r = self.user_token(bad)
            self.assertEqual((r.status, r.json()["error"]),
                             (400, "bad_user"), bad)
        # A control character in a header: the web server refuses it.
        for bad in (b"a\x01b", b"a\x7fb"):
            self.assertEqual(self.user_token(bad).status, 400)
        # One path segment, decoded once: never a file path.  A web server
        # may resolve some of these itself (dot segments, %2F) and answer
        # for another path; what reaches the program is a 400, and no
        # DELETE ever reaches a link.
        self.rig.connect(self.browser("alice"))
        ours = set()
        for bad in ("..", ".", "%2E%2E", "%2e", "%", "a%2", "a%zz", "",
                    "..%2F..", "a%2Fb", "..%2f..%2fstore", "%2F",
                    "alice%2F..", "..%2Falice", "alice/", "./alice",
                    "a/b", "../token", "alice%00"):
            for method in ("GET", "DELETE"):
                r = self.api(method, "/links/" + bad)
                if r.header("Content-Type") == "application/json":
                    self.assertEqual((r.status, r.json()["error"]),
                                     (400, "bad_user"), bad)
                    ours.add(bad)
                else:
                    # The web server's own answer (lighttpd: "/" itself
                    # for "..%2F..", its static page or 501 for DELETE).
                    self.assertNotEqual(r.status, 204, bad)
                    self.assertNotIn('"connected"', r.text)
        self.assertLessEqual({".", "%2e", "", "alice/", "a/b", "../token"},
                             ours)
        # Decoded once: "alice%2500" is the user "alice%00", not alice.
        r = self.api("GET", "/links/alice%2500")
        self.assertEqual((r.status, r.json()["error"]), (404, "not_connected"))
        if self.server == "lighttpd":
            self.assertLessEqual({"a%2Fb", "%2F", "%", "a%zz"}, ours)
        self.assertEqual([p.name for p in self.rig.records()],
                         [record_name(self.rig.key, "user:alice")])
        self.assertEqual(self.rig.mock.stats()["revoke_requests"], 0)
        self.rig.records()[0].unlink()
        r = self.api("GET", "/links/a/b")
        self.assertEqual(r.status, 400)
        self.assertIn("one path segment", r.json()["message"])
        r = self.api("POST", "/links/alice")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD, DELETE")
        # Tickets are backend mode's.
        r = self.api("POST", "/connect-tickets", body="user=alice", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((r.status, r.json()["error"]),
                         (404, "not_backend_mode"))
        r = self.browser("alice").get(self.url("/connect/ticket?t=abc"))
        self.assertEqual(r.status, 404)
        self.assertEqual(self.rig.records(), [])

    def test_a_store_that_cannot_be_used(self):
        b = self.browser("alice")
        self.rig.connect(b)
        csrf = self.status(b).json()["csrf_token"]
        with self.broken_store():
            r = self.status(b)
            self.assertEqual((r.status, r.json()["error"]),
                             (503, "store_unavailable"))
            self.assertEqual(b.get(self.url("/connect")).status, 503)
            for method in ("GET", "DELETE"):
                r = self.api(method, "/links/alice")
                self.assertEqual((r.status, r.json()["error"]),
                                 (503, "store_unavailable"), method)
            r = self.user_token("alice")
            self.assertEqual((r.status, r.json()["error"]),
                             (503, "store_unavailable"))
            for headers in ({}, NAVIGATE):
                r = b.post(self.url("/disconnect"), {"csrf": csrf},
                           headers=dict(headers, Origin=self.rig.origin))
                self.assertEqual(r.status, 503)
            self.assertIn("Temporarily unavailable", r.text)
        self.assertTrue(self.status(b).json()["connected"])

    def test_fifty_token_requests_by_user_one_refresh(self):
        self.link_expiring(self.browser("alice"))
        self.rig.mock.config(delay=0.5, fault_grant="refresh_token")
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda _: self.user_token("alice"),
                                    range(50)))
        self.assertEqual([r.status for r in answers], [200] * 50)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)
        new = self.rig.mock.tokens()["access_tokens"][-1]
        self.assertEqual({r.json()["access_token"] for r in answers}, {new})


class WebServerLighttpd(WebServerMode, OwnersTest):
    """lighttpd mod_auth; the admin page and the command line by user."""

    server = "lighttpd"

    def admin(self, query="", fmt=None):
        b = self.browser("admin")
        r = b.get(self.url("/admin" + query))
        self.assertEqual(r.status, 200, r.text)
        return r

    def rows(self, page):
        """(record id, owner) of each row of the admin list."""
        return re.findall(r'<tr><td><a href="[^"]*record\?id=[0-9a-f]{64}">'
                          r'<code>([0-9a-f]{12})</code></a></td>'
                          r'<td[^>]*>([^<]*)</td>', page.text)

    def test_admin_page_names_and_finds_owners(self):
        for user in ("bob", "alice", ZOE, "Alice"):
            self.rig.connect(self.browser(user))
        name = {u: record_name(self.rig.key, "user:" + u)[:12]
                for u in ("alice", "bob", ZOE, "Alice")}
        rows = self.rows(self.admin())
        self.assertEqual(sorted(rows), sorted((n, u) for u, n in
                                              name.items()))
        self.assertIn('scope="col"><a href="/insuresign/admin?sort=user">'
                      'Owner</a>', self.admin().text)
        # Sorted by user: bytes order, browsers last.
        self.assertEqual([u for _, u in self.rows(self.admin("?sort=user"))],
                         ["Alice", "alice", "bob", ZOE])
        # Exact (any case counts: ignore_case is off) and prefix.
        self.assertEqual(self.rows(self.admin("?user=alice")),
                         [(name["alice"], "alice")])
        self.assertEqual(self.rows(self.admin("?user=ali")), [])
        self.assertEqual(self.rows(self.admin("?user=ali&match=prefix")),
                         [(name["alice"], "alice")])
        self.assertEqual(self.rows(self.admin(
            "?user=" + quote("zo\u00eb") + "&match=prefix")),
            [(name[ZOE], ZOE)])
        page = self.admin("?user=ali&match=prefix&sort=user")
        self.assertIn('name="user" size="20" value="ali"', page.text)
        self.assertIn('<option value="prefix" selected>', page.text)
        js = self.browser("admin").get(self.url(
            "/admin?format=json&user=bob")).json()
        self.assertEqual([r["owner"] for r in js["records"]],
                         [{"kind": "user", "id": "bob"}])
        self.assertEqual(js["matching"], 1)

    def test_admin_record_shows_the_tokens_claims_not_the_token(self):
        self.rig.mock.config(jwt=True, account="alice@insuresign.test")
        self.rig.connect(self.browser("alice"))
        token = self.rig.mock.tokens()["access_tokens"][-1]
        claims = json.loads(base64.urlsafe_b64decode(
            token.split(".")[1] + "=="))
        name = record_name(self.rig.key, "user:alice")
        page = self.browser("admin").get(self.url(
            "/admin/record?id=" + name)).text
        self.assertIn("<dt>Owner</dt><dd>alice</dd>", page)
        self.assertIn("<strong>not verified</strong>", page)
        self.assertIn(f"<dt>sub</dt><dd>{claims['sub']}</dd>", page)
        self.assertIn("<dt>email</dt><dd>alice@insuresign.test</dd>", page)
        self.assertIn("<dt>iss</dt><dd>https://sign-auth.insuresign.io"
                      "</dd>", page)
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(claims["exp"]))
        self.assertIn(f"<dt>exp</dt><dd>{claims['exp']} ({exp})</dd>", page)
        self.assertIn("<dt>header alg</dt><dd>RS256</dd>", page)
        self.assert_no_secret(page)
        js = self.browser("admin").get(self.url(
            "/admin/record?format=json&id=" + name)).json()
        self.assertEqual(js["owner"], {"kind": "user", "id": "alice"})
        self.assertEqual(js["token"]["format"], "jwt")
        self.assertIs(js["token"]["verified"], False)
        self.assertEqual(js["token"]["claims"], claims)
        self.assertEqual(js["token"]["header"], {
            "alg": "RS256", "typ": "JWT", "kid": "mock-1"})
        self.assert_no_secret(json.dumps(js))
        # What `show` says is the same, and no more.
        shown = json.loads(self.rig.cli("show", "--user", "alice").stdout)
        self.assertEqual(shown["token"], js["token"])
        self.assertEqual(shown["owner"], js["owner"])
        self.assert_no_secret(json.dumps(shown))

    def test_admin_record_says_what_a_token_that_is_no_jwt_is(self):
        for user, switches, says in (
                ("alice", {}, "An opaque token: it says nothing about "
                 "itself."),
                ("bob", {"access_token": "eyJub3QiOiJqc29u.bm90IGpzb24.c2ln"},
                 "Shaped like a JWT, but malformed: the header is not a "
                 "JSON object with an alg.")):
            self.rig.mock.config(**switches)
            self.rig.connect(self.browser(user))
            name = record_name(self.rig.key, "user:" + user)
            page = self.browser("admin").get(self.url(
                "/admin/record?id=" + name)).text
            self.assertIn(says, page)
            self.assert_no_secret(page)

    def test_admin_record_shows_each_kind_of_claim(self):
        # Claims that are not strings or numbers: true, a list, null, an
        # object (which it leaves out: nothing to show in one line).
        def part(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()) \
                .rstrip(b"=").decode()
        claims = {"email_verified": True, "admin": False,
                  "roles": ["reader", 7, "<b>"], "nbf": None,
                  "sub": "acct_<1>"}
        token = ".".join([part({"alg": "RS256"}), part(claims), "c2ln"])
        self.rig.mock.config(access_token=token)
        self.rig.connect(self.browser("bob"))
        name = record_name(self.rig.key, "user:bob")
        page = self.browser("admin").get(self.url(
            "/admin/record?id=" + name)).text
        for want in ("<dt>email_verified</dt><dd>true</dd>",
                     "<dt>admin</dt><dd>false</dd>",
                     "<dt>roles</dt><dd>reader, 7, &lt;b&gt;</dd>",
                     "<dt>nbf</dt><dd>null</dd>",
                     "<dt>sub</dt><dd>acct_&lt;1&gt;</dd>"):
            self.assertIn(want, page)

    def test_command_line_by_user(self):
        self.rig.connect(self.browser("alice"))
        self.rig.connect(self.browser("bob"))
        alice = record_name(self.rig.key, "user:alice")
        out = self.rig.cli("list").stdout
        self.assertRegex(out.splitlines()[0], r"^ID\s+OWNER\s+STATUS")
        self.assertRegex(out, rf"(?m)^{alice[:12]}  alice\s+ connected")
        js = json.loads(self.rig.cli("list", "--json").stdout)
        self.assertEqual(sorted(r["owner"]["id"] for r in js),
                         ["alice", "bob"])
        shown = json.loads(self.rig.cli("show", "--user", "alice").stdout)
        self.assertEqual(shown["id"], alice)
        self.assertEqual(shown["token"], {"format": "opaque"})
        r = self.rig.cli("token", "--user", "alice")
        self.assertEqual(r.stdout.strip(),
                         self.user_token("alice").json()["access_token"])
        self.assertIn("refreshed", self.rig.cli("refresh", "--user",
                                                 "alice").stdout)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)
        self.assertIn("deleted", self.rig.cli("delete", "--user",
                                               "bob").stdout)
        self.assertEqual([p.name for p in self.rig.records()], [alice])
        me = "insuresign-connect"
        for args, code, says in (
                (["show", "--user", "bob"], 1,
                 f"{me} show: that user has no link"),
                (["delete", "--user", "a\x01"], 1,
                 f"{me} delete: a user id is 1 to 255 bytes of UTF-8 "
                 "without control characters"),
                (["token", "--user", "a" * 256], 1,
                 f"{me} token: a user id is 1 to 255 bytes of UTF-8 "
                 "without control characters"),
                (["show", alice[:8], "--user", "alice"], 2,
                 f"usage: {me}.fcgi show ID | --user ID [--config FILE]"),
                (["token", "--user", "alice", "--session", "A" * 43], 2,
                 f"usage: {me}.fcgi token --session COOKIE_VALUE | "
                 "--user ID [--config FILE]")):
            r = self.rig.cli(*args, check=False)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertEqual(r.stderr.strip().splitlines()[-1], says, args)


class WebServerApacheFcgid(WebServerMode, OwnersTest):
    server = "apache-fcgid"


class OidcRig(Rig):
    """Apache signing users in with the README's mod_auth_openidc lines
    in place of conf/apache-auth-basic.conf."""

    def apache_sign_in(self):
        readme = (ROOT / "README.md").read_text()
        block, = [b for b in re.findall(r"(?ms)^```apache\n(.*?)^```", readme)
                  if "OIDCRemoteUserClaim" in b]
        return (f'LoadModule auth_openidc_module '
                f'"{APACHE_MODULES / "mod_auth_openidc.so"}"\n' + block)


class OpenIdConnect(OwnersTest):
    """The README's mod_auth_openidc lines, started by a real Apache (its
    post-config checks run only at a start; no provider answers here)."""

    server = "apache-fcgid"
    rig_class = OidcRig

    def test_the_readmes_mod_auth_openidc_lines(self):
        # The module, not the program, answers on the signed-in paths ...
        for path in (BASE + "/status", "/account"):
            r = self.rig.browser().get(self.rig.url(path), nav=False)
            self.assertEqual(r.status, 401, path)
            self.assertNotIn("json", r.header("Content-Type"))
        r = self.rig.browser().get(self.url("/connect"))
        self.assertEqual(r.status, 500)     # it cannot reach the provider
        self.assertIn("could not retrieve metadata from url: https://"
                      "accounts.example.com/", self.rig.logs())
        # ... and the program on the backend's, with the key only.
        for path in ("/token", "/links/alice"):
            r = self.api("GET", path, key=None)
            self.assertEqual((r.status, r.json()["error"]),
                             (401, "unauthorized"), path)
        r = self.api("GET", "/links/alice")
        self.assertEqual((r.status, r.json()["error"]), (404, "not_connected"))


class WebServerApacheProxyFcgi(WebServerBasics, OwnersTest):
    server = "apache-proxy-fcgi"


class WebServerCgi(WebServerBasics, OwnersTest):
    server = "cgi"


class BackendMode:
    """[identity] owner = backend: connect tickets, and a browser that
    cannot say who it is."""

    owner = "backend"

    def ticket(self, user="alice", return_to=None, json_body=False, **kw):
        if json_body:
            body = {"user": user}
            if return_to is not None:
                body["return_to"] = return_to
            return self.api("POST", "/connect-tickets", body=json.dumps(
                body), headers={"Content-Type": "application/json"}, **kw)
        form = {"user": user}
        if return_to is not None:
            form["return_to"] = return_to
        return self.api("POST", "/connect-tickets",
                        body=urllib.parse.urlencode(form), headers={
                            "Content-Type":
                            "application/x-www-form-urlencoded"}, **kw)

    def ticket_url(self, user="alice", **kw):
        r = self.ticket(user, **kw)
        self.assertEqual(r.status, 201, r.text)
        return r.json()["url"]

    def test_a_ticket_connects_the_user_it_names(self):
        t0 = time.time()
        r = self.ticket("alice", return_to="/settings")
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        url, expires = r.json()["url"], r.json()["expires_at"]
        self.assertTrue(url.startswith(self.url("/connect/ticket?t=")), url)
        left = time.mktime(time.strptime(expires, "%Y-%m-%dT%H:%M:%SZ")) - \
            time.mktime(time.gmtime(t0))
        self.assertAlmostEqual(left, TICKET_TTL, delta=5)
        self.assertNotIn("alice", url)
        b = self.rig.browser()
        self.rig.mock.config(auto_approve=True)
        start = b.get(url)
        self.assertEqual(start.status, 302)
        self.assertTrue(start.location.startswith(self.rig.mock.url))
        self.assertIsNotNone(b.cookie("insuresign_session"))
        cb = b.get(b.get(start.location).location)
        self.assertEqual(cb.status, 303, cb.text)
        self.assertEqual(cb.location, self.rig.url(
            "/settings?insuresign=connected"))
        self.assertEqual([p.name for p in self.rig.records()],
                         [record_name(self.rig.key, "user:alice")])
        self.assertTrue(self.api("GET", "/links/alice").json()["connected"])
        self.assertEqual(self.user_token("alice").status, 200)
        # A JSON body, the default return_to, a UTF-8 id.
        url = self.ticket_url(ZOE, json_body=True)
        cb = self.rig.browser()
        r = cb.get(cb.get(cb.get(url).location).location)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=connected"))
        self.assertEqual(self.user_token(ZOE).status, 200)
        self.assertNotRegex(self.program_log(), r"alice|zo")

    def test_a_ticket_works_once_in_one_browser(self):
        url = self.ticket_url("alice")
        first, second = self.rig.browser(), self.rig.browser()
        self.rig.mock.config(auto_approve=True)
        start = first.get(url)
        self.assertEqual(start.status, 302)
        # The same URL in a second browser, or again: spent.
        for b in (second, first):
            r = b.get(url)
            self.assertEqual(r.status, 403)
            self.assertIn("This link was already used", r.text)
        callback = first.get(start.location).location
        # The second browser with the first one's callback: not its state.
        r = second.get(callback)
        self.assertEqual(r.status, 403)
        self.assertIn("This sign-in is not valid here", r.text)
        self.assertEqual(self.codes(), 0)
        r = first.get(callback)
        self.assertEqual(r.status, 303)
        self.assertEqual(self.codes(), 1)
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 1)
        self.assertEqual(self.user_token("alice").status, 200)

    def test_expired_forged_and_foreign_tickets(self):
        now = int(time.time())
        key = self.rig.key

        def opens(t):
            return self.rig.browser().get(self.url("/connect/ticket?t=" + t))
        # Sealed here as the program seals: fine while it is fresh ...
        self.assertEqual(opens(seal_ticket(key, "alice", "/account",
                                           now + 100)).status, 302)
        other = self.rig.out / "other.key"
        other.write_bytes(os.urandom(32))
        for t in (seal_ticket(key, "alice", "/account", now - 1),
                  # ... and past its time, or too far ahead of it.
                  seal_ticket(key, "alice", "/account",
                              now + TICKET_TTL + 3600),
                  seal_ticket(other, "alice", "/account", now + 100),
                  seal_ticket(key, "alice", "/account", now + 100)[:-2] + "AA",
                  "A" * 80, "AAAA", "not*base64",
                  # Sealed right, but not a ticket's shape inside.
                  seal_ticket(key, "", "", 0, plain=b"short"),
                  seal_ticket(key, "", "", 0, plain=os.urandom(16) +
                              struct.pack(">q", now + 100) + b"\0\0"),
                  seal_ticket(key, "", "", 0, plain=os.urandom(16) +
                              struct.pack(">q", now + 100) + b"\x05ab"),
                  seal_ticket(key, "", "", 0, plain=os.urandom(16) +
                              struct.pack(">q", now + 100) +
                              b"\x01a\x01/x")):
            r = opens(t)
            self.assertEqual(r.status, 403, t)
            self.assertIn("This link is not valid", r.text)
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)
        self.assertEqual(opens("").status, 403)

    def test_ticket_requests_are_checked(self):
        self.assertEqual(self.ticket(key=None).status, 401)
        self.assertEqual(self.ticket(key="y" * 40).status, 401)
        for r in (self.ticket("a\x01"), self.ticket("a" * 256),
                  self.ticket("", json_body=True)):
            self.assertEqual((r.status, r.json()["error"]),
                             (400, "bad_user"), r.text)
        r = self.ticket("alice", return_to="https://evil.example/")
        self.assertEqual((r.status, r.json()["error"]),
                         (400, "bad_return_to"))
        self.assertEqual(self.ticket("alice", return_to="/elsewhere")
                         .status, 400)
        for body, ctype in (("{", "application/json"),
                            ('{"user": 7}', "application/json"),
                            ('{"user": "a", "return_to": 7}',
                             "application/json"),
                            ('["alice"]', "application/json"),
                            ("return_to=/account", "application/"
                             "x-www-form-urlencoded"),
                            ("user=a&user=b", "application/"
                             "x-www-form-urlencoded")):
            r = self.api("POST", "/connect-tickets", body=body,
                         headers={"Content-Type": ctype})
            self.assertEqual((r.status, r.json()["error"]),
                             (400, "bad_request"), body)
        self.assertEqual(self.api("GET", "/connect-tickets").status, 405)

    def test_the_browser_cannot_say_who_it_is(self):
        b = self.rig.browser()
        r = self.status(b)
        self.assertEqual((r.status, r.json()["error"]), (404, "backend_mode"))
        self.assertIn("/connect-tickets", r.json()["message"])
        for path in ("/connect", "/connect/start"):
            r = b.get(self.url(path))
            self.assertEqual(r.status, 404)
            self.assertIn("Connect from your account page", r.text)
        r = b.post(self.url("/disconnect"), {"csrf": "x"},
                   headers={"Origin": self.rig.origin})
        self.assertEqual(r.status, 404)
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)

    def test_a_ticket_outlives_a_store_outage(self):
        url = self.ticket_url("alice")
        b = self.rig.browser()
        # A script cannot use it: a navigation must.
        r = b.get(url, nav=False)
        self.assertEqual((r.status, r.json()["error"]),
                         (401, "navigation_required"))
        with self.broken_store():
            r = b.get(url)
            self.assertEqual(r.status, 503)
            self.assertIn("Temporarily unavailable", r.text)
        # Not spent while the store could not say it was.
        self.assertEqual(b.get(url).status, 302)

    def test_a_ticket_from_another_site_asks_first(self):
        url = self.ticket_url("alice")
        b = self.rig.browser()
        r = b.get(url, headers={"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(r.status, 200)
        self.assertIn("Another site sent you here", r.text)
        self.assertIsNone(b.cookie("insuresign_session"))
        # Not spent: the click on that page goes on.
        r = b.get(url, headers={"Sec-Fetch-Site": "same-origin"})
        self.assertEqual(r.status, 302)


class BackendLighttpd(BackendMode, OwnersTest):
    server = "lighttpd"


class BackendApacheFcgid(BackendMode, OwnersTest):
    server = "apache-fcgid"


class Switch(OwnersTest):
    """One site, three settings in turn: browser links, then user links
    (web_server) with and without the web server's sign-in, and user ids
    in any letter case."""

    owner = "browser"

    def configure(self, sign_in=False, session=None, key=True, **identity):
        """[identity] and [session] as given (the rest default), the web
        server's sign-in on or off, the backend key set or not; restarts
        only when that changes anything."""
        identity.setdefault("owner", "browser")
        want = (identity, sign_in, session, key)
        if getattr(self.rig, "switch_state", None) == want:
            return
        if not hasattr(self.rig, "key_file"):
            self.rig.key_file = self.rig.settings["app"]["backend_key_file"]
        self.rig.settings["identity"] = dict(identity)
        self.rig.settings["session"] = dict(session or {})
        self.rig.settings["app"]["backend_key_file"] = (
            self.rig.key_file if key else None)
        self.rig.sign_in = USERS if sign_in else None
        self.rig.write_config()
        self.rig.restart_server()
        self.rig.switch_state = want

    def link_a_browser(self):
        self.configure()
        b, sid = self.rig.link()
        return b, sid

    def test_browser_mode_has_no_routes_by_user(self):
        self.configure()
        for method, path in (("GET", "/links/alice"),
                             ("DELETE", "/links/alice")):
            r = self.api(method, path)
            self.assertEqual((r.status, r.json()["error"]),
                             (404, "browser_mode"))
            self.assertIn("set [identity] owner = web_server or backend",
                          r.json()["message"])
        r = self.api("POST", "/connect-tickets", body="user=alice",
                     headers={"Content-Type":
                              "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 404)
        self.assertIn("[identity] owner = backend", r.json()["message"])
        r = self.user_token("alice")
        self.assertEqual((r.status, r.json()["error"]), (400, "browser_mode"))
        self.assertIn("[identity] owner", r.json()["message"])
        r = self.rig.browser().get(self.url("/connect/ticket?t=abc"))
        self.assertEqual(r.status, 404)
        self.assertIn("[identity] owner", r.text)

    def test_web_server_mode_without_a_sign_in(self):
        """Switched before the web server signs anyone in: nobody is
        anybody, and a browser's cookie does not make it somebody."""
        b, sid = self.link_a_browser()
        self.configure(owner="web_server", login_url="/login")
        r = self.status(b)
        self.assertEqual((r.status, r.json()["error"]),
                         (401, "not_signed_in"))
        self.assertNotIn("connected", r.json())
        for path in ("/connect", "/connect/start"):
            r = b.get(self.url(path))
            self.assertEqual(r.status, 401)
            self.assertIn("Please sign in first", r.text)
            self.assertIn('<a href="/login">Sign in</a>', r.text)
        # A callback with no user at all: stale, nothing exchanged.
        r = b.get(self.url("/callback?code=abc&state=" + "A" * 43))
        self.assertEqual(r.status, 403)
        self.assertIn("This sign-in is not valid here", r.text)
        self.configure(owner="web_server")
        r = b.get(self.url("/connect"))
        self.assertEqual(r.status, 401)
        self.assertIn('<a href="/account">Back to your account</a>', r.text)
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)
        self.assertEqual(self.codes(), 0)
        self.assertEqual(len(self.rig.records()), 1)

    def test_the_backend_api_is_off_without_a_key(self):
        for owner in ("web_server", "backend"):
            self.configure(owner=owner, key=False)
            for method, path in (("GET", "/links/alice"),
                                 ("DELETE", "/links/alice"),
                                 ("POST", "/connect-tickets"),
                                 ("GET", "/token")):
                r = self.api(method, path)
                self.assertEqual((r.status, r.json()["error"]),
                                 (404, "not_found"), path)
                self.assertIn("[app] backend_key_file", r.json()["message"])

    def test_switching_never_hands_a_browsers_link_to_a_user(self):
        b, sid = self.link_a_browser()
        other, _ = self.rig.link()
        old, older = sorted(p.name for p in self.rig.records())
        self.configure(owner="web_server", sign_in=True)
        # Bob signs in on the browser that holds the linked cookie.
        b.sign_in(self.rig.origin, "bob", USERS["bob"])
        self.assertFalse(self.status(b).json()["connected"])
        self.assertIn("Not connected", b.get(self.url("/connect")).text)
        self.assertEqual(self.user_token("bob").status, 404)
        r = self.api("GET", "/token", headers={"X-InsureSign-Session": sid})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.rig.cli("token", "--session", sid,
                                      check=False).returncode, 0)
        # The old link: still listed, as a browser's, and deletable.
        admin = self.browser("admin").get(self.url("/admin")).text
        self.assertIn(f"<code>{old[:12]}</code></a></td><td class=\"mute\">"
                      "browser session</td>", admin)
        self.assertRegex(self.rig.cli("list").stdout,
                         rf"(?m)^{old[:12]}  \(browser\)")
        # Bob connects: his own link beside them.
        self.assertEqual(self.rig.connect(b).status, 303)
        bob = record_name(self.rig.key, "user:bob")
        self.assertEqual(sorted(p.name for p in self.rig.records()),
                         sorted([old, older, bob]))
        # By user: bob's, then the browsers' (no user to sort by).
        page = self.browser("admin").get(self.url("/admin?sort=user")).text
        self.assertEqual(re.findall(r"<code>(\w{12})</code></a></td><td"
                                    r"[^>]*>([^<]*)</td>", page)[0],
                         (bob[:12], "bob"))
        self.assertEqual(page.count("browser session</td>"), 2)
        self.assertIn("deleted", self.rig.cli("delete", old[:12]).stdout)
        self.assertTrue(self.status(b).json()["connected"])

    def test_gc_removes_a_browsers_link_left_idle(self):
        b, sid = self.link_a_browser()
        self.configure(owner="web_server", sign_in=True)
        old = self.rig.records()[0]
        data = bytearray(old.read_bytes())
        for off in (24, 32, 48, 56):        # docs/STORE.md: the head's times
            t, = struct.unpack_from(">q", data, off)
            if t:
                struct.pack_into(">q", data, off, t - 91 * 86400)
        old.write_bytes(bytes(data))
        self.rig.connect(self.browser("alice"))
        out = self.rig.cli("gc").stdout
        self.assertIn(f"removed {old.name[:12]} (idle)", out)
        self.assertEqual([p.name for p in self.rig.records()],
                         [record_name(self.rig.key, "user:alice")])

    def test_ignore_case(self):
        self.configure(owner="web_server", sign_in=True)
        self.rig.connect(self.browser("alice"))
        # Off (the default): "Alice" is somebody else.
        self.assertFalse(self.status(self.browser("Alice")).json()[
            "connected"])
        self.assertEqual(self.api("GET", "/links/ALICE").status, 404)
        self.assertEqual(self.user_token("ALICE").status, 404)
        self.configure(owner="web_server", sign_in=True, ignore_case="true")
        self.assertTrue(self.status(self.browser("Alice")).json()[
            "connected"])
        self.assertTrue(self.api("GET", "/links/ALICE").json()["connected"])
        self.assertEqual(self.user_token("aLiCe").status, 200)
        # Only ASCII letters fold.
        self.rig.connect(self.browser(ZOE))
        self.assertEqual(self.api("GET", "/links/" + quote(
            "ZO\u00cb@EXAMPLE.COM")).status, 404)
        self.assertEqual(self.api("GET", "/links/" + quote(
            "ZO\u00eb@EXAMPLE.COM")).status, 200)
        self.assertEqual(len(self.rig.records()), 2)

    def test_backend_mode_with_the_web_apps_own_cookie(self):
        """[session] issue_cookie = false: the flow a ticket starts is
        bound to the web app's session cookie, never to one of ours by
        its name."""
        self.configure(owner="backend", session={
            "issue_cookie": "false", "cookie_name": "APPSESSID"})
        r = self.api("POST", "/connect-tickets", body="user=alice", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        url = r.json()["url"]
        # A browser without it: refused, and the ticket is not spent.
        r = self.rig.browser().get(url)
        self.assertEqual(r.status, 403)
        self.assertIn("Open this link where you are signed in", r.text)
        b = self.rig.browser()
        b.set_cookie("APPSESSID", "app-session-id-0123456789")
        self.rig.mock.config(auto_approve=True)
        start = b.get(url)
        self.assertEqual(start.status, 302)
        self.assertEqual([c for c in start.all("Set-Cookie")
                          if "APPSESSID" in c or "session" in c], [])
        cb = b.get(b.get(start.location).location)
        self.assertEqual(cb.status, 303, cb.text)
        self.assertEqual(b.cookie("APPSESSID"), "app-session-id-0123456789")
        self.assertTrue(self.api("GET", "/links/alice").json()["connected"])

    def test_check_config_says_what_each_mode_needs(self):
        def check(session=None, key=True, **identity):
            settings = self.rig.settings
            saved = {k: dict(settings.get(k, {}))
                     for k in ("identity", "session", "app")}
            settings["identity"] = identity
            settings["session"] = session or {}
            if not key:
                settings["app"].pop("backend_key_file")
            self.rig.write_config()
            try:
                return self.rig.cli("check-config", check=False)
            finally:
                settings.update(saved)
                self.rig.write_config()
        # The example config's [identity], as it is shipped.
        example = (ROOT / "conf/insuresign-connect.ini.example").read_text()
        section = re.search(r"(?ms)^\[identity\]\n(.*?)^\[", example)
        shipped = dict(re.findall(r"(?m)^(\w+)\s*=\s*(\S+)$",
                                  section.group(1)))
        self.assertEqual(shipped, {"owner": "browser",
                                   "ignore_case": "false"})
        r = check(**shipped)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^ok +\[identity\] owner = browser: "
                         "a link belongs to one browser's session cookie$")
        r = check(session={"issue_cookie": "false",
                           "cookie_name": "PHPSESSID"})
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"(?m)^warning +\[identity\] owner = "
                         r"browser with \[session\] issue_cookie = false: "
                         r"links belong to the web app's session cookie "
                         r"PHPSESSID, so a link is lost whenever the web app "
                         r"rotates its session id")
        r = check(owner="web_server")
        self.assertRegex(r.stdout, r"(?m)^ok +\[identity\] owner = "
                         "web_server: links belong to REMOTE_USER")
        r = check(owner="backend")
        self.assertRegex(r.stdout, r"(?m)^ok +\[identity\] owner = backend")
        r = check(owner="backend", key=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"(?m)^error +\[identity\] owner = "
                         r"backend: set \[app\] backend_key_file")


class Demo(unittest.TestCase):
    """make demo, as a person uses it: two users of the sample web app
    each link their own InsureSign account, and the admin page names both
    (tests/rig.py demo, the way the Makefile starts it)."""

    def start(self, owner):
        port = free_port()
        env = dict(os.environ, ISC_TEST_OUT=str(OUT / f"Demo-{owner}"))
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/rig.py"), "demo", str(port),
             f"--owner={owner}"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)

        def stop():
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.communicate(timeout=30)[0].strip(),
                             "stopped.")
        self.addCleanup(stop)
        banner = ""
        while "Ctrl-C stops" not in banner:
            line = proc.stdout.readline()
            self.assertTrue(line, "the demo ended: " + banner)
            banner += line
        self.origin = f"http://127.0.0.1:{port}"
        self.passwords = dict(re.findall(r"(\w+) \(password (\S+)\)",
                                         banner))
        self.passwords["admin"] = re.search(
            r"\(user admin, password (\S+)\)", banner).group(1)
        self.mock = re.search(r"The mock InsureSign at (\S+) ",
                              banner).group(1)
        return banner

    def mock_config(self, **switches):
        Browser().request("POST", self.mock + "/_mock/config",
                          body=json.dumps(switches))

    def approve(self, b, start, user):
        """From the program's 302 to InsureSign, back to the app."""
        self.assertEqual(start.status, 302, start.text)
        self.mock_config(auto_approve=True,
                         account=f"{user}@insuresign.test")
        cb = b.get(b.get(start.location).location)
        self.assertEqual(cb.status, 303, cb.text)
        return b.follow(cb)

    def admin_sees_both(self):
        b = Browser()
        b.sign_in(self.origin, "admin", self.passwords["admin"])
        page = b.get(self.origin + BASE + "/admin?sort=user").text
        owners = re.findall(r"</code></a></td><td>([^<]*)</td>", page)
        self.assertEqual(owners, ["alice", "bob"])
        record = re.search(r'href="(/insuresign/admin/record\?id=\w+)"',
                           page).group(1)
        page = b.get(self.origin + record).text
        self.assertIn("<dt>email</dt><dd>alice@insuresign.test</dd>", page)

    def test_backend_mode_the_default(self):
        banner = self.start("backend")
        self.assertIn("the sample web app (demo/app.py)", banner)
        self.assertIn("make demo OWNER=browser", banner)
        for user in ("alice", "bob"):
            b = Browser()
            r = b.post(self.origin + "/app/login", {
                "name": user, "password": self.passwords[user]},
                follow=True)
            self.assertIn("Not connected.", r.text)
            csrf = re.search(r'name="csrf" value="(\w+)"', r.text).group(1)
            ticket = b.post(self.origin + "/app/connect", {"csrf": csrf})
            page = self.approve(b, b.get(ticket.location), user)
            self.assertIn(f'id="user">{user}</strong>', page.text)
            self.assertIn("Connected since", page.text)
        self.admin_sees_both()

    def test_web_server_mode(self):
        self.start("web_server")
        for user in ("alice", "bob"):
            b = Browser()
            b.sign_in(self.origin, user, self.passwords[user])
            self.assertEqual(b.get(self.origin + "/account").status, 200)
            page = self.approve(b, b.get(
                self.origin + BASE + "/connect/start?return_to=/account"),
                user)
            self.assertEqual(page.url, self.origin +
                             "/account?insuresign=connected")
        self.admin_sees_both()


if __name__ == "__main__":
    unittest.main()
