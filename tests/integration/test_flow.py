"""The connect flow, end to end, through a real lighttpd and the mock.

Each bad case checks its status code and that the mock saw no token
request it should not have.
"""

import base64
import contextlib
import os
import re
import stat
import threading
import time
import unittest
import urllib.parse

import rig
from rig import BASE, CLIENT_ID, CLIENT_SECRET, Rig

SESSION = "insuresign_session"
PENDING = "insuresign_pending"


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class FlowTest(unittest.TestCase):
    """One lighttpd + program + mock for the whole class."""

    rig_options = {}

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, **cls.rig_options)
        cls.addClassCleanup(cls.rig.stop)

    def setUp(self):
        self.rig.mock.reset()
        self.b = self.rig.browser()
        for r in self.rig.records():
            r.unlink()

    def url(self, path):
        return self.rig.url(BASE + path)

    def start(self, b=None, return_to=None):
        """connect/start; returns the authorize URL's parameters."""
        b = b or self.b
        q = "?return_to=" + urllib.parse.quote(return_to) if return_to else ""
        r = b.get(self.url("/connect/start" + q))
        self.assertEqual(r.status, 302, r.text)
        return r.location

    def callback_url(self, authorize_url, **params):
        """The callback InsureSign would send for this authorize URL."""
        q = query(authorize_url)
        params.setdefault("state", q["state"])
        return q["redirect_uri"] + "?" + urllib.parse.urlencode(params)

    def approve(self, authorize_url, b=None):
        """Lets the mock approve; returns the callback URL it sends."""
        b = b or self.b
        self.rig.mock.config(auto_approve=True)
        r = b.get(authorize_url)
        self.assertEqual(r.status, 302, r.text)
        return r.location

    def status(self, b=None):
        r = (b or self.b).get(self.url("/status"), nav=False)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def token_requests(self):
        return self.rig.mock.token_requests()

    @contextlib.contextmanager
    def store_broken(self):
        """The store unusable for a while: the file store's directory
        opened to others (refused), or Redis stopped.  Yields what the
        log then says; after, waits for a worker to answer again (a
        worker tries a Redis that was down again after a second)."""
        if self.rig.store_kind == "redis":
            self.rig.redis.stop()
            try:
                yield "cannot connect"
            finally:
                self.rig.redis.start()
            rig.wait_for(lambda: self.b.get(self.url("/status"), nav=False)
                         .status == 200, timeout=5,
                         what="the workers to reach Redis again")
        else:
            os.chmod(self.rig.store, 0o755)
            try:
                yield "expected 0700"
            finally:
                os.chmod(self.rig.store, 0o700)

    def assertPage(self, r, status, *phrases):
        self.assertEqual(r.status, status, r.text[:500])
        self.assertIn("text/html", r.header("Content-Type", ""))
        for p in phrases:
            self.assertIn(p, r.text)


class ConnectFlow(FlowTest):

    def test_whole_flow_as_a_browser(self):
        r = self.rig.connect(self.b)
        self.assertEqual(r.status, 303)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=connected"))
        st = self.status()
        self.assertTrue(st["connected"])
        self.assertTrue(st["refreshable"])
        self.assertRegex(st["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("access_token", st)
        # Exactly one code exchange, as RFC 6749 4.1.3 and InsureSign say.
        log = self.rig.mock.log(endpoint="token")
        self.assertEqual(len(log), 1)
        p = log[0]["params"]
        self.assertEqual(p["grant_type"], "authorization_code")
        self.assertEqual(p["redirect_uri"], self.rig.redirect_uri)
        self.assertEqual(p["client_id"], CLIENT_ID)
        self.assertRegex(p["code_verifier"], r"^[A-Za-z0-9_-]{43}$")
        basic = log[0]["authorization"].split(" ", 1)
        self.assertEqual(basic[0], "Basic")
        self.assertEqual(base64.b64decode(basic[1]).decode(),
                         f"{CLIENT_ID}:{CLIENT_SECRET}")
        # The account page itself is served (the demo's sample app).
        page = self.b.get(r.location)
        self.assertEqual(page.status, 200)

    def test_the_real_approve_page(self):
        auth = self.start()
        page = self.b.get(auth)
        self.assertEqual(page.status, 200)
        self.assertIn('id="approve"', page.text)
        fields = dict(re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
            page.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        fields["decision"] = "approve"
        r = self.b.post(self.rig.mock.url + "/oauth2/authorize", fields)
        self.assertEqual(r.status, 302)
        cb = self.b.get(r.location)
        self.assertEqual(cb.status, 303)
        self.assertTrue(self.status()["connected"])

    def test_authorize_url(self):
        q = query(self.start())
        self.assertEqual(q["response_type"], "code")
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(q["redirect_uri"], self.rig.redirect_uri)
        self.assertRegex(q["state"], r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertRegex(q["code_challenge"], r"^[A-Za-z0-9_-]{43}$")

    def test_spoofed_host_header_leaves_redirect_uri_alone(self):
        r = self.b.get(self.url("/connect/start"),
                       headers={"Host": "evil.example"})
        self.assertEqual(r.status, 302)
        self.assertEqual(query(r.location)["redirect_uri"],
                         self.rig.redirect_uri)

    def test_session_id_rotates_on_connect(self):
        self.start()
        before = self.b.cookie(SESSION)
        self.assertIsNotNone(before)
        self.rig.connect(self.b)
        after = self.b.cookie(SESSION)
        self.assertNotEqual(before, after)
        self.assertTrue(self.status()["connected"])
        # The old id (a fixated one, say) reaches nothing.
        old = self.rig.browser()
        old.set_cookie(SESSION, before)
        self.assertFalse(self.status(old)["connected"])

    def test_cookie_attributes(self):
        r = self.b.get(self.url("/connect/start"))
        cookies = {c.split("=", 1)[0]: c for c in r.all("Set-Cookie")}
        s = cookies[SESSION]
        self.assertIn("HttpOnly", s)
        self.assertIn("SameSite=Lax", s)
        self.assertIn("Path=/;", s + ";")
        self.assertNotIn("Secure", s)    # plain http on loopback
        # It lives as long as gc keeps an idle link (90 days).
        self.assertIn("Max-Age=7776000", s)
        self.assertRegex(s, SESSION + r"=[A-Za-z0-9_-]{43};")
        p = cookies[PENDING]
        self.assertIn("HttpOnly", p)
        self.assertIn("Path=" + BASE + "/", p)
        self.assertIn("Max-Age=600", p)

    def test_status_renews_a_linked_sessions_cookie(self):
        r = self.b.get(self.url("/status"), nav=False)
        self.assertEqual(r.all("Set-Cookie"), [])     # nothing to renew
        self.rig.connect(self.b)
        sid = self.b.cookie(SESSION)
        r = self.b.get(self.url("/status"), nav=False)
        self.assertEqual(r.all("Set-Cookie"),
                         [f"{SESSION}={sid}; Path=/; HttpOnly; "
                          "SameSite=Lax; Max-Age=7776000"])

    def test_record_file_modes(self):
        self.rig.connect(self.b)
        recs = self.rig.records()
        self.assertEqual(len(recs), 1)
        if self.rig.store_kind == "file":
            self.assertEqual(stat.S_IMODE(os.stat(recs[0]).st_mode), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(recs[0].parent).st_mode),
                             0o700)
            self.assertEqual(stat.S_IMODE(os.stat(self.rig.store).st_mode),
                             0o700)
        # Named by HMAC, never by the cookie: the id is nowhere in it.
        self.assertNotIn(self.b.cookie(SESSION), str(recs[0]))
        self.assertNotIn(self.b.cookie(SESSION).encode(),
                         recs[0].read_bytes())

    def test_second_tab_while_the_first_is_pending(self):
        tab1 = self.start()
        tab2 = self.start()
        self.assertNotEqual(query(tab1)["state"], query(tab2)["state"])
        r2 = self.b.get(self.approve(tab2))
        self.assertEqual(r2.status, 303)
        self.assertTrue(self.status()["connected"])
        # The first tab still finishes, after the id rotated.
        r1 = self.b.get(self.approve(tab1))
        self.assertEqual(r1.status, 303)
        self.assertEqual(self.token_requests(), 2)
        self.assertTrue(self.status()["connected"])

    def test_only_five_pending_at_once(self):
        first = self.start()
        for _ in range(5):
            self.start()
        r = self.b.get(self.approve(first))
        self.assertEqual(r.status, 403)
        self.assertEqual(self.token_requests(), 0)

    def test_return_to_is_kept(self):
        auth = self.start(return_to="/settings/profile")
        r = self.b.get(self.approve(auth))
        self.assertEqual(r.location, self.rig.url(
            "/settings/profile?insuresign=connected"))

    def test_connect_page(self):
        r = self.b.get(self.url("/connect"))
        self.assertPage(r, 200, "Not connected", "Connect to InsureSign",
                        BASE + "/connect/start?return_to=%2Faccount")
        self.rig.connect(self.b)
        r = self.b.get(self.url("/connect?return_to=/settings"))
        self.assertPage(r, 200, "Connected", "Disconnect",
                        "return_to=%2Fsettings")

    def test_logs_hold_no_secrets(self):
        self.rig.connect(self.b)
        self.b.get(self.url("/status"), nav=False)
        logs = self.rig.logs()
        secrets = self.rig.mock.tokens()
        for kind in ("codes", "access_tokens", "refresh_tokens"):
            for s in secrets[kind]:
                self.assertNotIn(s, logs, kind)
        self.assertNotIn(CLIENT_SECRET, logs)
        self.assertNotIn(self.b.cookie(SESSION), logs)


class BadCallbacks(FlowTest):

    def test_replayed_callback_makes_no_second_token_request(self):
        cb = self.approve(self.start())
        self.assertEqual(self.b.get(cb).status, 303)
        self.assertEqual(self.token_requests(), 1)
        # The Back button: this session is connected, so say so.
        r = self.b.get(cb)
        self.assertEqual(r.status, 303)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=already-connected"))
        self.assertEqual(self.token_requests(), 1)
        self.assertTrue(self.status()["connected"])

    def test_replay_with_the_old_pending_cookie_is_refused_locally(self):
        # An attacker (or a browser restoring a session) replays the
        # callback with the cookies from before it: the pending cookie
        # still holds the state, so only the server can tell it is spent.
        cb = self.approve(self.start())
        before = dict(self.b.jar)
        self.assertEqual(self.b.get(cb).status, 303)
        self.assertEqual(self.token_requests(), 1)
        replay = self.rig.browser()
        replay.jar = before
        self.assertPage(replay.get(cb), 403, "already used")
        self.assertEqual(self.token_requests(), 1)
        self.assertTrue(self.status()["connected"])

    def test_replay_in_a_session_that_is_not_connected(self):
        self.rig.mock.config(fault_count=1, status=500)
        cb = self.approve(self.start())
        self.assertEqual(self.b.get(cb).status, 502)
        r = self.b.get(cb)
        self.assertPage(r, 403, "already used")
        self.assertEqual(self.token_requests(), 1)

    def test_foreign_state(self):
        cb = self.approve(self.start())
        other = self.rig.browser()
        other.get(self.url("/connect/start"))
        self.assertPage(other.get(cb), 403, "not started in this browser")
        self.assertEqual(self.token_requests(), 0)
        # ... and it did not spend the real owner's state.
        self.assertEqual(self.b.get(cb).status, 303)

    def test_no_session_cookie(self):
        cb = self.approve(self.start())
        self.assertPage(self.rig.browser().get(cb), 403)
        self.assertEqual(self.token_requests(), 0)

    def test_unknown_state(self):
        auth = self.start()
        r = self.b.get(self.callback_url(auth, code="abc", state="x" * 43))
        self.assertPage(r, 403)
        self.assertEqual(self.token_requests(), 0)

    def test_malformed_callbacks(self):
        auth = self.start()
        state = query(auth)["state"]
        cb = query(auth)["redirect_uri"]
        for q in ["code=abc",                                  # no state
                  f"state={state}",                            # no code
                  f"code=a&code=b&state={state}",              # duplicate
                  f"code=abc&state={state}&state={state}",
                  f"code=abc&error=access_denied&state={state}",
                  f"code=a%00b&state={state}",                 # NUL
                  f"code=abc&state=a%0Ab"]:
            r = self.b.get(cb + "?" + q)
            self.assertPage(r, 400)
        self.assertEqual(self.token_requests(), 0)
        # None of them spent the state.
        self.assertEqual(self.b.get(self.approve(auth)).status, 303)

    def test_unknown_parameters_are_ignored(self):
        cb = self.approve(self.start())
        r = self.b.get(cb + "&session_state=xyz&foo=bar")
        self.assertEqual(r.status, 303)

    def test_access_denied(self):
        auth = self.start()
        r = self.b.get(self.callback_url(
            auth, error="access_denied", error_description="no"))
        self.assertEqual(r.status, 303)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=denied"))
        self.assertEqual(self.token_requests(), 0)
        self.assertFalse(self.status()["connected"])
        # The state was spent.
        r = self.b.get(self.callback_url(auth, code="abc"))
        self.assertEqual(r.status, 403)

    def test_error_description_is_escaped(self):
        auth = self.start()
        r = self.b.get(self.callback_url(
            auth, error="server_error",
            error_description="<script>alert(1)</script>"))
        self.assertPage(r, 502, "not link",
                        "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertNotIn("<script>", r.text)
        self.assertEqual(self.token_requests(), 0)

    def test_error_leaves_an_existing_link_intact(self):
        self.rig.connect(self.b)
        before = self.rig.records()[0].read_bytes()
        auth = self.start()
        self.b.get(self.callback_url(auth, error="access_denied"))
        self.assertTrue(self.status()["connected"])
        self.assertEqual(self.rig.records()[0].read_bytes(), before)


class TokenEndpointFaults(FlowTest):
    """Any reply but a good one: a clear page, nothing stored."""

    faults = {
        "invalid_grant": ({"error": "invalid_grant"}, 502),
        "invalid_client": ({"status": 401}, 502),
        "server_error": ({"status": 500}, 502),
        "unavailable": ({"status": 503}, 502),
        "not_json": ({"invalid_json": True}, 502),
        "html": ({"body": "<html>hi</html>", "content_type": "text/html"},
                 502),
        "no_access_token": ({"omit": ["access_token"]}, 502),
        "empty_access_token": ({"access_token": ""}, 502),
        "number_access_token": ({"access_token": 42}, 502),
        "no_token_type": ({"omit": ["token_type"]}, 502),
        "mac_token_type": ({"token_type": "mac"}, 502),
        "no_expires_in": ({"omit": ["expires_in"]}, 502),
        "negative_expires_in": ({"expires_in": -5}, 502),
        "string_expires_in": ({"expires_in": "3600"}, 502),
        "too_big": ({"pad": 70000}, 502),
        # No Content-Length to refuse it by: cut as it comes (http.c).
        "too_big_unsized": ({"pad": 70000, "unsized": True}, 502),
        "redirect": ({"redirect": "https://127.0.0.1:1/elsewhere"}, 502),
        "reset": ({"reset": True}, 502),
        "hang": ({"hang": True}, 504),
    }

    def test_each_fault(self):
        for name, (switches, status) in self.faults.items():
            with self.subTest(fault=name):
                self.rig.mock.reset()
                b = self.rig.browser()
                cb = self.approve(self.start(b), b)
                self.rig.mock.config(fault_count=1, **switches)
                r = b.get(cb)
                self.assertPage(r, status, "Nothing was changed")
                self.assertEqual(self.token_requests(), 1)
                self.assertEqual(self.rig.records(), [])
                self.assertFalse(self.status(b)["connected"])
        # The unsized one was cut by the write callback, not by its size.
        self.assertIn("Failure writing output to destination "
                      "(reply_too_big)", self.rig.logs())

    def test_a_rejected_client_is_one_plain_line_with_its_time(self):
        # Issue 12, item 9: "invalid_client (HTTP 401,
        # error=invalid_client)" said it twice, and under mod_fcgid (its
        # stderr is Apache's error log) no line had a time.
        b = self.rig.browser()
        cb = self.approve(self.start(b), b)
        self.rig.mock.config(fault_count=1, status=401)
        self.assertEqual(b.get(cb).status, 502)
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ insuresign-connect\[\d+\]: "
        log = self.rig.logs()
        self.assertRegex(log, rf"(?m)^{stamp}error: callback: code exchange "
                              r"failed: invalid_client \(HTTP 401\)$")
        self.assertRegex(log, rf"(?m)^{stamp}warning: token endpoint \S+ "
                              r"answered 401: invalid_client$")

    def test_a_failed_reconnect_keeps_the_old_link(self):
        self.rig.connect(self.b)
        before = self.rig.records()
        cb = self.approve(self.start())
        self.rig.mock.config(fault_count=1, status=500)
        self.assertEqual(self.b.get(cb).status, 502)
        self.assertEqual(self.rig.records(), before)
        self.assertTrue(self.status()["connected"])

    def test_lowercase_bearer_and_unknown_members_are_fine(self):
        cb = self.approve(self.start())
        self.rig.mock.config(token_type="bearer",
                             members={"id_token": "x", "extra": [1, 2]})
        self.assertEqual(self.b.get(cb).status, 303)


class StartedElsewhere(FlowTest):
    """Issue 10 section 7: another site cannot start a connect for the
    user; it gets a page where the user decides with a click."""

    OLD_BROWSER = {"Accept": "text/html"}   # no Fetch Metadata at all

    def start_from(self, headers, query=""):
        return self.b.get(self.url("/connect/start" + query), nav=False,
                          headers=headers)

    def assertConfirm(self, r):
        self.assertPage(r, 200, "Another site sent you here")
        self.assertIsNone(r.header("Location"))
        self.assertNotIn(PENDING, " ".join(r.all("Set-Cookie")))

    def test_cross_site_navigation_gets_a_page_with_a_button(self):
        r = self.start_from({"Accept": "text/html",
                             "Sec-Fetch-Mode": "navigate",
                             "Sec-Fetch-Site": "cross-site"})
        self.assertConfirm(r)
        for site in ("same-site",):
            self.assertConfirm(self.start_from(
                {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": site}))
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)
        # The user clicks Connect: a same-origin navigation.
        link = re.search(r'href="(/insuresign/connect/start[^"]*)"', r.text)
        href = link.group(1).replace("&amp;", "&")
        r = self.b.get(self.rig.url(href), nav=False, headers={
            "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(r.status, 302)
        self.assertTrue(r.location.startswith(self.rig.mock.url))

    def test_a_browser_without_fetch_metadata_is_judged_by_its_referer(self):
        own = self.rig.url("/account")
        self.assertEqual(self.start_from(
            dict(self.OLD_BROWSER, Referer=own)).status, 302)
        self.assertConfirm(self.start_from(
            dict(self.OLD_BROWSER, Referer="https://evil.example/")))
        # No Referer (our own pages send none): only with our link's token.
        r = self.start_from(self.OLD_BROWSER)
        self.assertConfirm(r)
        go = re.search(r"go=([A-Za-z0-9_-]{43})", r.text).group(1)
        self.assertEqual(self.start_from(
            self.OLD_BROWSER, "?go=" + go).status, 302)
        self.assertConfirm(self.start_from(
            self.OLD_BROWSER, "?go=" + "A" * 43))

    def test_our_connect_page_links_carry_the_token(self):
        r = self.b.get(self.url("/connect"))
        href = re.search(r'href="(/insuresign/connect/start[^"]*)"',
                         r.text).group(1).replace("&amp;", "&")
        self.assertIn("go=", href)
        self.assertEqual(self.b.get(self.rig.url(href), nav=False,
                                    headers=self.OLD_BROWSER).status, 302)


class Requests(FlowTest):

    def test_open_redirects_refused(self):
        for bad in ["//evil.example", "https://evil.example", "/\\evil",
                    "/accountant", "/account/../admin", "javascript:x",
                    "/account\"><script>"]:
            for path in ("/connect", "/connect/start"):
                r = self.b.get(self.url(path + "?return_to=" +
                                        urllib.parse.quote(bad)))
                self.assertPage(r, 400)
        self.assertEqual(self.rig.mock.stats()["authorize_requests"], 0)

    def test_bad_cookies_are_no_session(self):
        self.rig.connect(self.b)
        good = self.b.cookie(SESSION)
        for value in ["../../etc/passwd", "a" * 42, "a" * 44, "é" * 43,
                      good[:-1] + "!"]:
            b = self.rig.browser()
            r = b.get(self.url("/status"), nav=False,
                      headers={"Cookie": f"{SESSION}={value}"})
            self.assertEqual(r.status, 200)
            self.assertFalse(r.json()["connected"])
        # Two cookies of our name: neither is believed.
        r = self.rig.browser().get(
            self.url("/status"), nav=False,
            headers={"Cookie": f"{SESSION}={good}; {SESSION}={good}"})
        self.assertFalse(r.json()["connected"])
        self.assertEqual(len(self.rig.records()), 1)
        self.assertFalse((self.rig.store / "etc").exists())

    def test_unknown_path_and_wrong_methods(self):
        self.assertPage(self.b.get(self.url("/nope")), 404)
        self.assertPage(self.b.get(self.url("/connect/../status")), 404)
        r = self.b.post(self.url("/status"))
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")
        r = self.b.get(self.url("/disconnect"))
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "POST")
        r = self.b.request("PUT", self.url("/callback"))
        self.assertEqual(r.status, 405)

    def test_security_headers_everywhere(self):
        for r in [self.b.get(self.url("/connect")),
                  self.b.get(self.url("/status"), nav=False),
                  self.b.get(self.url("/connect/start")),
                  self.b.get(self.url("/nope"))]:
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
            self.assertEqual(r.header("X-Frame-Options"), "DENY")
            self.assertIn("frame-ancestors 'none'",
                          r.header("Content-Security-Policy"))

    def test_limits(self):
        r = self.b.get(self.url("/connect?x=" + "a" * 5000))
        self.assertEqual(r.status, 414)
        r = self.b.request("POST", self.url("/disconnect"),
                           body="a" * 20000,
                           headers={"Content-Type":
                                    "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 413)

    def test_fetch_gets_json_not_a_redirect(self):
        r = self.b.get(self.url("/connect/start"), nav=False,
                       headers={"Accept": "*/*", "Sec-Fetch-Mode": "cors"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "navigation_required")

    def test_disconnect_needs_csrf_and_same_origin(self):
        self.rig.connect(self.b)
        csrf = self.status()["csrf_token"]
        r = self.b.post(self.url("/disconnect"), {})
        self.assertEqual(r.status, 403)
        r = self.b.post(self.url("/disconnect"), {"csrf": "A" * 43})
        self.assertEqual(r.status, 403)
        r = self.b.post(self.url("/disconnect"), {"csrf": csrf},
                        headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertTrue(self.status()["connected"])
        # Another session's token is no good either.
        other = self.rig.browser()
        self.rig.connect(other)
        r = other.post(self.url("/disconnect"), {"csrf": csrf})
        self.assertEqual(r.status, 403)
        r = self.b.post(self.url("/disconnect"), {"csrf": csrf},
                        headers={"Origin": self.rig.origin,
                                 **{"Accept": "text/html",
                                    "Sec-Fetch-Mode": "navigate"}})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.location, self.rig.url(
            "/account?insuresign=disconnected"))
        self.assertFalse(self.status()["connected"])
        self.assertTrue(self.status(other)["connected"])
        self.assertEqual(len(self.rig.records()), 1)

    def test_disconnect_by_fetch_answers_204(self):
        self.rig.connect(self.b)
        csrf = self.status()["csrf_token"]
        r = self.b.post(self.url("/disconnect"), {"csrf": csrf},
                        headers={"Sec-Fetch-Mode": "cors"})
        self.assertEqual(r.status, 204)
        self.assertEqual(self.rig.records(), [])


class StoreFailures(FlowTest):

    def test_unusable_store_gives_503_and_loses_nothing(self):
        self.rig.connect(self.b)
        before = self.rig.records()[0].read_bytes()
        other = self.rig.browser()
        cb = self.approve(self.start(other), other)
        with self.store_broken() as why:
            r = self.b.get(self.url("/status"), nav=False)
            self.assertEqual(r.status, 503)
            asked = self.rig.mock.token_requests()
            self.assertPage(other.get(cb), 503, "cannot be saved")
            # The code is not spent at InsureSign for tokens we would drop.
            self.assertEqual(self.rig.mock.token_requests(), asked)
        self.assertIn(why, self.rig.logs())
        self.assertEqual(self.rig.records()[0].read_bytes(), before)
        self.assertTrue(self.status()["connected"])
        # Nothing was spent, so the same callback works once it can.
        self.assertEqual(other.get(cb).status, 303)
        self.assertTrue(self.status(other)["connected"])

    def test_tampered_record_gives_503(self):
        self.rig.connect(self.b)
        rec = self.rig.records()[0]
        data = bytearray(rec.read_bytes())
        data[-1] ^= 1
        rec.write_bytes(bytes(data))
        r = self.b.get(self.url("/status"), nav=False)
        self.assertEqual(r.status, 503)
        self.assertIn("cannot be decrypted", self.rig.logs())


class Issuer(FlowTest):
    """RFC 9207: with [insuresign] issuer set, iss must come and match."""

    rig_options = {"issuer": "https://issuer.example",
                   "ini": {"insuresign": {"issuer":
                                          "https://issuer.example"}}}

    def test_matching_iss(self):
        cb = self.approve(self.start())
        self.assertEqual(query(cb)["iss"], "https://issuer.example")
        self.assertEqual(self.b.get(cb).status, 303)

    def test_missing_or_wrong_iss(self):
        for iss in ["", "https://evil.example"]:
            self.rig.mock.reset()
            self.rig.mock.config(iss=iss)
            cb = self.approve(self.start())
            self.assertPage(self.b.get(cb), 400, "expected")
            self.assertEqual(self.token_requests(), 0)


class WithoutPkce(FlowTest):
    """pkce = false: no code_challenge, no code_verifier."""

    rig_options = {"ini": {"insuresign": {"pkce": False,
                                          "scope": "documents sign"}}}

    def test_no_pkce_and_a_scope(self):
        auth = self.start()
        q = query(auth)
        self.assertNotIn("code_challenge", q)
        self.assertNotIn("code_challenge_method", q)
        self.assertEqual(q["scope"], "documents sign")
        self.assertEqual(self.b.get(self.approve(auth)).status, 303)
        p = self.rig.mock.log(endpoint="token")[0]["params"]
        self.assertNotIn("code_verifier", p)


class AppSessionCookie(FlowTest):
    """issue_cookie = false: the web app's own session cookie keys it."""

    rig_options = {"ini": {"session": {"issue_cookie": False,
                                       "cookie_name": "PHPSESSID"}}}

    def test_uses_the_apps_cookie_and_never_sets_one(self):
        r = self.b.get(self.url("/connect/start"))
        self.assertPage(r, 401, "sign in")
        self.b.set_cookie("PHPSESSID", "q8rfn2s9d7e6c5b4a3z2y1x0w9")
        r = self.rig.connect(self.b)
        self.assertEqual(r.status, 303)
        for resp in self.b.history:
            for c in resp.all("Set-Cookie"):
                self.assertFalse(c.startswith("PHPSESSID"), c)
        self.assertEqual(self.b.cookie("PHPSESSID"),
                         "q8rfn2s9d7e6c5b4a3z2y1x0w9")
        self.assertTrue(self.status()["connected"])

    def test_bad_app_session_ids(self):
        for value in ["short", "a" * 257, "has space here!!", "../../x/y/z/"]:
            b = self.rig.browser()
            b.set_cookie("PHPSESSID", value)
            r = b.get(self.url("/connect/start"))
            self.assertEqual(r.status, 401, value)


class SecureCookies(FlowTest):
    """secure = always: Secure cookies with the __Host- prefix."""

    rig_options = {"ini": {"session": {"secure": "always"}}}

    def test_secure_and_host_prefix(self):
        r = self.b.get(self.url("/connect/start"))
        names = [c.split("=", 1)[0] for c in r.all("Set-Cookie")]
        self.assertIn("__Host-" + SESSION, names)
        self.assertIn("__Secure-" + PENDING, names)
        for c in r.all("Set-Cookie"):
            self.assertIn("; Secure", c)
        host = [c for c in r.all("Set-Cookie") if c.startswith("__Host-")]
        self.assertIn("Path=/;", host[0] + ";")
        self.assertNotIn("Domain", host[0])


if __name__ == "__main__":
    unittest.main()


class Limits(FlowTest):
    """Issue 10 section 4: nobody can make us spend the client's credentials
    at InsureSign faster than [limits] allow."""

    rig_options = {"ini": {"limits": {"callbacks_per_address": 3,
                                      "callbacks_per_minute": 5,
                                      "exchanges_at_once": 1},
                           "http": {"timeout": 10}}}

    def setUp(self):
        super().setUp()
        # The counts are per minute: start well inside one.
        if time.time() % 60 > 40:
            time.sleep(61 - time.time() % 60)
        self.forget_counts()

    def forget_counts(self):
        """Zeros the workers' shared counts in place (never truncate a
        file that is mapped: its pages would be gone)."""
        f = self.rig.state / "limits"
        if f.exists():
            with open(f, "r+b") as out:
                out.write(bytes(f.stat().st_size))

    def callback(self, source):
        b = self.rig.browser(source=source)
        return b, self.approve(self.start(b), b)

    def test_a_burst_from_one_address_gets_429_and_others_still_connect(self):
        answers = []
        for _ in range(5):
            b, cb = self.callback("127.0.0.1")
            answers.append(b.get(cb))
        self.assertEqual([r.status for r in answers], [303] * 3 + [429] * 2)
        self.assertPage(answers[3], 429, "Too many attempts")
        self.assertTrue(0 < int(answers[3].header("Retry-After")) <= 60)
        self.assertEqual(self.token_requests(), 3)
        # Someone else, right after: still connects.
        b, cb = self.callback("127.0.0.2")
        self.assertEqual(b.get(cb).status, 303)
        self.assertEqual(self.token_requests(), 4)

    def test_everyone_together_is_bounded_too(self):
        statuses = []
        for i in range(7):
            b, cb = self.callback(f"127.0.0.{10 + i}")
            statuses.append(b.get(cb).status)
        self.assertEqual(statuses, [303] * 5 + [429] * 2)
        self.assertEqual(self.token_requests(), 5)

    def test_a_refused_callback_can_be_reloaded_later(self):
        for _ in range(3):
            b, cb = self.callback("127.0.0.1")
            self.assertEqual(b.get(cb).status, 303)
        b, cb = self.callback("127.0.0.1")
        self.assertEqual(b.get(cb).status, 429)
        # The state was not spent: once the minute is over (here: the
        # counts forgotten), the same callback finishes the connect.
        self.forget_counts()
        self.assertEqual(b.get(cb).status, 303)
        self.assertTrue(self.status(b)["connected"])

    def test_exchanges_at_once(self):
        # One slot; InsureSign slow: the second callback waits, then gets
        # 429 rather than a second exchange in flight.
        # A slot is waited for 3 s: the first exchange takes 5.
        self.rig.mock.config(delay=5, fault_grant="authorization_code")
        first = self.callback("127.0.0.20")
        second = self.callback("127.0.0.21")
        out = {}
        t = threading.Thread(target=lambda: out.update(a=first[0].get(first[1])))
        t.start()
        time.sleep(0.5)
        r = second[0].get(second[1])
        t.join()
        self.assertEqual(out["a"].status, 303)
        self.assertPage(r, 429, "Too many attempts")
        self.assertEqual(self.token_requests(), 1)
