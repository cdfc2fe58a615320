"""Operations (issue 15): /metrics for Prometheus, /healthz and /readyz,
refresh ahead of need, JSON log lines, and signed events to the web app,
for real: lighttpd with 4 workers (conf/lighttpd.conf's max-procs), the
mock InsureSign, a real Prometheus, and a webhook receiver.
"""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.parse

from rig import BASE, PROGRAM, Prometheus, Receiver, Rig, wait_for

METRICS_KEY = "metrics-key-0123456789abcdefghijklmnopqrstuvwxyz"
ADMIN_KEY = "admin-key-0123456789abcdefghijklmnopqrstuvwxyz0"
PREFIX = "insuresign_connect_"


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class OpsTest(unittest.TestCase):
    """One lighttpd (4 workers) + program + mock for the whole class."""

    extra = {}

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, ini=cls.extra, backend_key=True,
                      start=False)
        cls.addClassCleanup(cls.rig.stop)
        cls.metrics_key = cls.rig.secret_file("metrics.key",
                                              METRICS_KEY + "\n")
        cls.rig.settings.setdefault("metrics", {}).setdefault(
            "key_file", cls.metrics_key)
        cls.rig.settings["admin"] = {"key_file": cls.rig.secret_file(
            "admin.key", ADMIN_KEY + "\n")}
        cls.configure()
        cls.rig.write_config()
        cls.rig.start_server()

    @classmethod
    def configure(cls):
        """More settings, before the server starts."""

    def setUp(self):
        self.rig.mock.reset()
        for r in self.rig.records():
            r.unlink()

    def get(self, path, key=None, source=None, headers=None):
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        return self.rig.browser(source=source).get(
            self.rig.url(BASE + path), nav=False, headers=h)

    def metrics(self):
        r = self.get("/metrics", key=METRICS_KEY)
        self.assertEqual(r.status, 200, r.text)
        return parse_exposition(r.text)

    def value(self, name, **labels):
        return self.metrics().get(
            (PREFIX + name, frozenset(labels.items())), 0)


class Metrics(OpsTest):

    def test_the_exposition_passes_promtool(self):
        self.rig.link()
        r = self.get("/metrics", key=METRICS_KEY)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"),
                         "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        p = subprocess.run(["promtool", "check", "metrics"], input=r.body,
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = parse_exposition(r.text)
        # Each family by its conventional name, never a user's value.
        for name, _ in m:
            self.assertTrue(name.startswith(PREFIX), name)
        self.assertGreaterEqual(m[(PREFIX + "connects_completed_total",
                                   frozenset())], 1)
        self.assertIn((PREFIX + "token_endpoint_duration_seconds_count",
                       frozenset({("grant", "authorization_code")})), m)
        # The gauges are read at most every 5 s.
        wait_for(lambda: self.value("links", state="connected") == 1,
                 timeout=10, what="the links gauge")
        # Label values are words of ours: no token, no session.
        for t in self.rig.mock.tokens()["access_tokens"]:
            self.assertNotIn(t, r.text)

    def test_a_store_that_cannot_be_read_is_a_503_not_a_guess(self):
        time.sleep(5)                   # the gauges an earlier scrape read
        os.chmod(self.rig.store, 0o755)
        try:
            r = self.get("/metrics", key=METRICS_KEY)
        finally:
            os.chmod(self.rig.store, 0o700)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["error"], "metrics_unavailable")
        self.assertIn("the store cannot be read", r.json()["message"])
        self.assertEqual(self.get("/metrics", key=METRICS_KEY).status, 200)

    def test_who_may_read_them(self):
        self.assertEqual(self.get("/metrics").status, 401)
        r = self.get("/metrics", key="wrong" * 10)
        self.assertEqual(r.status, 401)
        self.assertIn("Bearer", r.header("WWW-Authenticate"))
        self.assertEqual(self.get("/metrics", key=METRICS_KEY).status, 200)
        # The admin's key is the operator's: it reads them too.
        self.assertEqual(self.get("/metrics", key=ADMIN_KEY).status, 200)
        # The backend key is not a metrics key.
        self.assertEqual(self.get("/metrics", key=rig_backend_key()).status,
                         401)

    def test_counts_survive_a_worker_killed_with_kill_9(self):
        before = self.value("requests_total", route="/status")
        for _ in range(20):
            self.get("/status")
        for pid in self.rig.worker_pids():
            os.kill(pid, signal.SIGKILL)
        # lighttpd starts new workers; the counts were in the file.
        wait_for(lambda: self.get("/healthz").status == 200, timeout=30,
                 what="lighttpd to start new workers")
        self.assertGreaterEqual(
            self.value("requests_total", route="/status"), before + 20)


def rig_backend_key():
    import rig
    return rig.BACKEND_KEY


class MetricsAccess(OpsTest):
    """[metrics] allow: Prometheus by its address, no key."""

    extra = {"metrics": {"allow": "127.0.0.1, ::1/128"}}

    def test_allowed_addresses_and_no_others(self):
        self.assertEqual(self.get("/metrics").status, 200)
        # 127.0.0.2 is loopback too, but not on the list.
        self.assertEqual(self.get("/metrics", source="127.0.0.2").status, 401)
        self.assertEqual(self.get("/metrics", source="127.0.0.2",
                                  key=METRICS_KEY).status, 200)


class MetricsUnderCgi(unittest.TestCase):
    """Apache running the program as plain CGI: each request a process of
    its own, and every one adds to the same counts."""

    def test_every_cgi_run_adds_to_the_same_counts(self):
        with Rig(type(self).__name__, server="cgi", ini={
                "metrics": {"allow": "127.0.0.1"}}) as rig:
            def status_count():
                r = rig.browser().get(rig.url(BASE + "/metrics"),
                                      nav=False)
                self.assertEqual(r.status, 200, r.text)
                return parse_exposition(r.text).get(
                    (PREFIX + "requests_total",
                     frozenset({("route", "/status")})), 0)
            before = status_count()
            for _ in range(5):
                rig.browser().get(rig.url(BASE + "/status"), nav=False)
            self.assertEqual(status_count(), before + 5)


class MetricsOff(unittest.TestCase):

    def test_never_open_by_default(self):
        with Rig(type(self).__name__) as rig:
            r = rig.browser().get(rig.url(BASE + "/metrics"), nav=False)
            self.assertEqual(r.status, 403)
            self.assertIn("[metrics] key_file", r.text)
            self.assertNotIn(PREFIX, r.text)


class PrometheusScrapes(OpsTest):
    """A real Prometheus scrapes the four workers' sum."""

    extra = {"insuresign": {"refresh_backoff": 0}}

    def test_the_sum_of_four_workers(self):
        prom = Prometheus(self.rig.out, self.rig.port, BASE + "/metrics",
                          self.metrics_key)
        self.addCleanup(prom.stop)
        base = {k: v for k, v in self.metrics().items()}

        def grew(name, **labels):
            return base.get((PREFIX + name, frozenset(labels.items())), 0)

        # A known sequence: 3 links made; 1 denied; 2 stale callbacks;
        # a refresh that works and one that fails; 40 /status; /token
        # answers of each kind.
        made = [self.rig.link(expires_in=30) for _ in range(3)]
        b = self.rig.browser()
        auth = b.get(self.rig.url(BASE + "/connect/start")).location
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth).query))
        r = b.get(q["redirect_uri"] + "?" + urllib.parse.urlencode(
            {"state": q["state"], "error": "access_denied"}))
        self.assertEqual(r.status, 303)
        for _ in range(2):
            self.assertEqual(b.get(q["redirect_uri"] + "?code=x&state=" +
                                   "y" * 43).status, 403)
        self.assertEqual(self.rig.token(made[0][1]).status, 200)  # refresh
        self.rig.mock.config(status=500, fault_grant="refresh_token")
        self.assertEqual(self.rig.token(made[1][1]).status, 200)  # old one
        self.rig.mock.config(status=None, fault_grant=None)
        self.assertEqual(self.rig.token("A" * 43).status, 404)
        self.assertEqual(self.rig.token(made[2][1], key=None).status, 401)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: self.get("/status"), range(40)))
        self.assertEqual(len(self.rig.worker_pids()), 4)

        want = {
            'connects_started_total': grew("connects_started_total") + 4,
            'connects_completed_total':
                grew("connects_completed_total") + 3,
            'connects_failed_total{reason="denied"}':
                grew("connects_failed_total", reason="denied") + 1,
            'connects_failed_total{reason="state"}':
                grew("connects_failed_total", reason="state") + 2,
            'code_exchanges_total{result="ok"}':
                grew("code_exchanges_total", result="ok") + 3,
            'refreshes_total{result="ok"}':
                grew("refreshes_total", result="ok") + 1,
            'refreshes_total{result="server_error"}':
                grew("refreshes_total", result="server_error") + 1,
            'token_requests_total{result="ok"}':
                grew("token_requests_total", result="ok") + 2,
            'token_requests_total{result="not_connected"}':
                grew("token_requests_total", result="not_connected") + 1,
            'token_requests_total{result="unauthorized"}':
                grew("token_requests_total", result="unauthorized") + 1,
            'requests_total{route="/status"}':
                grew("requests_total", route="/status") + 40,
            'token_endpoint_duration_seconds_count{grant="refresh_token"}':
                grew("token_endpoint_duration_seconds_count",
                     grant="refresh_token") + 2,
            'links{state="connected"}': 2,
            'links{state="refresh_failing"}': 1,
        }

        def seen():
            got = {}
            for q in want:
                v = prom.query(PREFIX + q)
                got[q] = next(iter(v.values())) if len(v) == 1 else None
            return got
        try:
            wait_for(lambda: seen() == want, timeout=30,
                     what="prometheus to scrape the expected values")
        except TimeoutError:
            self.assertEqual(seen(), want)
        # Every scrape answered, whichever worker took it.
        health = [t["health"] for t in prom.targets()["activeTargets"]]
        self.assertEqual(health, ["up"])


class Health(OpsTest):

    def test_healthz_is_open_and_says_nothing_more(self):
        r = self.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertEqual(self.rig.browser().request(
            "HEAD", self.rig.url(BASE + "/healthz")).status, 200)

    def test_readyz_looks_once_for_everyone_and_never_asks_for_a_token(self):
        time.sleep(5)                       # what an earlier test found
        self.rig.mock.reset()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: self.get("/readyz"),
                                    range(20)))
        self.assertEqual({r.status for r in answers}, {200})
        self.assertEqual(answers[0].json(), {"status": "ready",
                                             "failed": []})
        stats = self.rig.mock.stats()
        # One connection (with a TLS handshake) for the first look, one
        # for this stats call; the other 19 took the shared finding.
        self.assertLessEqual(stats["tcp_connections"], 2)
        self.assertGreaterEqual(stats["tcp_connections"], 1)
        self.assertEqual(stats["tls_failures"], 0)
        self.assertEqual(stats["token_requests"], 0)

    def test_without_the_shared_file_each_worker_looks_itself(self):
        os.chmod(self.rig.state, 0o755)
        try:
            r = self.get("/readyz")
        finally:
            os.chmod(self.rig.state, 0o700)
        self.assertEqual(r.status, 200, r.text)

    def test_the_admin_sees_every_check_now(self):
        r = self.get("/readyz", key=ADMIN_KEY)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["details"], {
            "store": "ok", "store_key": "ok", "state_dir": "ok",
            "token_endpoint": "ok"})
        os.chmod(self.rig.store, 0o755)
        try:
            r = self.get("/readyz", key=ADMIN_KEY)
        finally:
            os.chmod(self.rig.store, 0o700)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["failed"], ["store"])
        self.assertIn("mode 0755, expected 0700",
                      r.json()["details"]["store"])
        self.assertEqual(self.get("/readyz", key=ADMIN_KEY).status, 200)


class NotReady(unittest.TestCase):
    """A token endpoint nobody answers at, and one whose certificate the
    program does not trust."""

    def test_an_unreachable_token_endpoint(self):
        with Rig(type(self).__name__, start=False) as rig:
            from rig import free_port
            rig.settings["insuresign"]["token_url"] = \
                f"http://127.0.0.1:{free_port()}/oauth2/token"
            rig.settings["admin"] = {"key_file": rig.secret_file(
                "admin.key", ADMIN_KEY + "\n")}
            rig.write_config()
            rig.start_server()
            r = rig.browser().get(rig.url(BASE + "/readyz"), nav=False)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json(), {"status": "not_ready",
                                        "failed": ["token_endpoint"]})
            r = rig.browser().get(rig.url(BASE + "/readyz"), nav=False,
                                  headers={"Authorization":
                                           "Bearer " + ADMIN_KEY})
            self.assertEqual(r.status, 503)
            self.assertRegex(r.json()["details"]["token_endpoint"],
                             r"(?i)connect.*\(network_error\)")
            # Alive all the same.
            self.assertEqual(rig.browser().get(
                rig.url(BASE + "/healthz"), nav=False).status, 200)

    def test_an_untrusted_certificate(self):
        with Rig(type(self).__name__, start=False) as rig:
            from rig import Mock
            bad = Mock(rig.out, [rig.redirect_uri], cert="selfsigned",
                       name="mock-selfsigned")
            self.addCleanup(bad.stop)
            rig.settings["insuresign"]["token_url"] = \
                bad.url + "/oauth2/token"
            rig.write_config()
            rig.start_server()
            r = rig.browser().get(rig.url(BASE + "/readyz"), nav=False)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json()["failed"], ["token_endpoint"])
            self.assertEqual(bad.stats()["tls_failures"], 1)
            self.assertEqual(bad.stats()["token_requests"], 0)


class RefreshAhead(OpsTest):
    """insuresign-connect refresh-due, as the timer runs it."""

    extra = {"insuresign": {"refresh_backoff": 2}}

    def refresh_due(self, check=True):
        return self.rig.cli("refresh-due", check=check)

    def refreshes(self):
        return self.rig.mock.token_requests("refresh_token")

    def test_near_expiry_refreshed_once_despite_a_token_burst(self):
        # Due for the web requests too (margin 60 s): both race for it.
        links = [self.rig.link(expires_in=30) for _ in range(3)]
        fresh = self.rig.link()                 # an hour: not due
        self.rig.mock.config(delay=0.5, fault_grant="refresh_token")
        cmd = subprocess.Popen(
            [str(self.rig_program()), "refresh-due", "--config",
             str(self.rig.ini)], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        with concurrent.futures.ThreadPoolExecutor(30) as pool:
            burst = list(pool.map(
                lambda i: self.rig.token(links[i % 3][1]), range(60)))
        out = cmd.communicate(timeout=60)[0]
        self.assertEqual(cmd.returncode, 0, out)
        self.assertEqual({r.status for r in burst}, {200})
        # One refresh per link, whoever won each race.
        self.assertEqual(self.refreshes(), 3)
        used = [e["params"]["refresh_token"] for e in
                self.rig.mock.log(grant_type="refresh_token")]
        self.assertEqual(len(set(used)), 3)
        self.assertRegex(out, r"^refreshed [0-3] of 3 links due; 0 failed")
        # The fresh link was left alone, and a second run has nothing.
        out = self.refresh_due().stdout
        self.assertEqual(out, "refreshed 0 of 0 links due; 0 failed, 0 "
                         "need a reconnect, 0 skipped (refreshed "
                         "meanwhile, or backing off)\n")
        self.assertEqual(self.refreshes(), 3)
        self.assertEqual(self.rig.token(fresh[1]).status, 200)
        self.assertEqual(self.refreshes(), 3)

    def test_within_the_window_before_any_request_would(self):
        b, sid = self.rig.link(expires_in=600)  # 10 min: /token waits
        self.assertEqual(self.rig.token(sid).status, 200)
        self.assertEqual(self.refreshes(), 0)
        self.assertIn("refreshed 1 of 1 link due", self.refresh_due().stdout)
        self.assertEqual(self.refreshes(), 1)
        t = self.rig.token(sid).json()
        self.assertGreater(t["expires_in"], 3500)
        self.assertEqual(t["access_token"],
                         self.rig.mock.tokens()["access_tokens"][-1])

    def test_a_failing_endpoint_backs_off_then_recovers(self):
        for _ in range(3):
            self.rig.link(expires_in=600)
        self.rig.mock.config(status=500, fault_grant="refresh_token")
        out = self.refresh_due().stdout
        self.assertIn("refreshed 0 of 3 links due; 3 failed", out)
        self.assertEqual(self.refreshes(), 3)
        # Backing off (2 s after the first failure): nothing is asked.
        self.assertIn("of 0 links due", self.refresh_due().stdout)
        self.assertEqual(self.refreshes(), 3)
        time.sleep(2.2)
        self.assertIn("3 failed", self.refresh_due().stdout)
        self.assertEqual(self.refreshes(), 6)
        # The second failure doubles it: 4 s.
        time.sleep(2.2)
        self.assertIn("of 0 links due", self.refresh_due().stdout)
        self.assertEqual(self.refreshes(), 6)
        self.rig.mock.config(status=None, fault_grant=None)
        time.sleep(2)
        self.assertIn("refreshed 3 of 3 links due; 0 failed",
                      self.refresh_due().stdout)
        self.assertEqual(self.refreshes(), 9)

    def test_the_run_stops_when_insuresign_keeps_failing(self):
        for _ in range(5):
            self.rig.link(expires_in=600)
        self.rig.mock.config(status=503, fault_grant="refresh_token")
        r = self.refresh_due(check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refreshed 0 of 5 links due; 3 failed", r.stdout)
        self.assertIn("stopped: the token endpoint keeps failing",
                      r.stderr)
        self.assertIn("2 links wait for the next run", r.stderr)
        self.assertEqual(self.refreshes(), 3)

    def test_the_rate_limit(self):
        self.rig.settings["refresh"] = {"per_second": 4}
        self.rig.write_config()
        try:
            for _ in range(5):
                self.rig.link(expires_in=600)
            t0 = time.monotonic()
            self.assertIn("refreshed 5 of 5", self.refresh_due().stdout)
            # Four a second: the fifth starts a second after the first.
            self.assertGreaterEqual(time.monotonic() - t0, 1.0)
            # As InsureSign sees them: the first also waits for the TLS
            # handshake, the rest share its connection; from the second to
            # the fifth, three quarters of a second (unpaced: a few ms).
            times = [e["time"] for e in
                     self.rig.mock.log(grant_type="refresh_token")]
            self.assertEqual(len(times), 5)
            self.assertGreaterEqual(times[-1] - times[1], 0.7)
        finally:
            del self.rig.settings["refresh"]
            self.rig.write_config()

    def test_conf_has_a_timer_and_a_cron_line(self):
        from rig import ROOT
        timer = (ROOT / "conf/insuresign-connect-refresh.timer").read_text()
        self.assertIn("OnCalendar=", timer)
        service = (ROOT /
                   "conf/insuresign-connect-refresh.service").read_text()
        self.assertIn(" refresh-due ", service)
        cron = (ROOT / "conf/insuresign-connect.cron").read_text()
        self.assertRegex(cron,
                         r"(?m)^[0-9*/]+ .*/insuresign-connect refresh-due ")

    @staticmethod
    def rig_program():
        from rig import PROGRAM
        return PROGRAM


SECRET = "events-secret-0123456789abcdefghijklmnopqrstuvw"


class EventsTest(OpsTest):
    """[events] url: a receiver in the test, checking every signature."""

    events = {}

    @classmethod
    def configure(cls):
        cls.receiver = Receiver(SECRET)
        cls.addClassCleanup(cls.receiver.stop)
        cls.rig.settings["events"] = dict({
            "url": cls.receiver.url,
            "secret_file": cls.rig.secret_file("events.secret",
                                               SECRET + "\n"),
            "retry_min": 1, "timeout": 2}, **cls.events)

    def setUp(self):
        super().setUp()
        r = self.receiver
        r.unhang()
        if r.server is None:
            r.up()
        r.status = 204
        with r.lock:
            r.attempts.clear()
            r.deliveries.clear()
            r.bad.clear()

    def tearDown(self):
        self.assertEqual(self.receiver.bad, [])

    def delivered(self, n, timeout=15, poke=False):
        """Waits for N deliveries (POKE: running deliver as the timer
        would); returns them."""
        def enough():
            if poke:
                self.rig.cli("deliver", check=False)
            return len(self.receiver.events()) >= n
        wait_for(enough, timeout=timeout, what=f"{n} deliveries")
        return self.receiver.events()

    def tombstones(self):
        """The records' names whose head says deleted (docs/STORE.md)."""
        return {p.name for p in self.rig.records()
                if p.read_bytes()[8] == 3}

    def disconnect(self, b):
        csrf = b.get(self.rig.url(BASE + "/status"),
                     nav=False).json()["csrf_token"]
        r = b.post(self.rig.url(BASE + "/disconnect"), {"csrf": csrf})
        self.assertEqual(r.status, 204)


class Events(EventsTest):

    extra = {"insuresign": {"refresh_backoff": 2}}

    def test_a_links_life_in_events_signed_and_in_order(self):
        b, sid = self.rig.link(expires_in=30)
        [created] = self.delivered(1)
        record = self.rig.records()[0].name
        self.assertEqual(created["type"], "link.created")
        self.assertEqual(created["record"], record)
        self.assertEqual(created["owner"], {"kind": "browser"})
        self.assertIsNone(created["reason"])
        self.assertRegex(created["id"], r"^evt_[0-9a-f]{32}$")
        self.assertRegex(created["created_at"], r"Z$")
        # A refresh that fails, fails again (no second event), works.
        self.rig.mock.config(status=500, fault_grant="refresh_token")
        self.assertEqual(self.rig.token(sid).status, 200)
        time.sleep(1.1)                     # refresh_backoff is 30 s:
        self.rig.cli("refresh", record[:12], check=False)   # forced
        self.rig.mock.config(status=None, fault_grant=None)
        self.rig.cli("refresh", record[:12])
        # The grant gone, then the user's own disconnect.
        self.rig.mock.config(error="invalid_grant",
                             fault_grant="refresh_token")
        self.rig.cli("refresh", record[:12], check=False)
        self.rig.mock.config(error=None, fault_grant=None)
        self.disconnect(b)
        got = self.delivered(5, poke=True)
        time.sleep(0.5)
        self.rig.cli("deliver")
        got = self.receiver.events()
        self.assertEqual([(e["type"], e["reason"]) for e in got], [
            ("link.created", None),
            ("link.refresh_failed", "server_error"),
            ("link.recovered", "server_error"),
            ("link.needs_reconnect", "invalid_grant"),
            ("link.deleted", "user")])
        self.assertEqual({e["record"] for e in got}, {record})
        self.assertEqual(len({e["id"] for e in got}), 5)
        # Never a token, a code or the session id.
        text = json.dumps(got)
        for t in (self.rig.mock.tokens()["access_tokens"] +
                  self.rig.mock.tokens()["refresh_tokens"] + [sid]):
            self.assertNotIn(t, text)
        # The tombstone went with its last event.
        wait_for(lambda: self.rig.records() == [], timeout=10,
                 what="the tombstone to go")
        m = self.metrics()
        self.assertGreaterEqual(m[(PREFIX + "events_delivered_total",
                                   frozenset({("type", "link.deleted")}))],
                                1)

    def test_the_receiver_down_then_up(self):
        self.receiver.down()
        links = [self.rig.link() for _ in range(3)]
        self.disconnect(links[0][0])
        self.rig.cli("delete", next(
            p.name for p in self.rig.records()
            if p.name not in self.tombstones())[:12])
        # Each attempt refused: nothing arrived, nothing lost.
        r = self.rig.cli("deliver", "--all", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the receiver cannot be reached", r.stderr)
        self.assertEqual(self.receiver.events(), [])
        self.assertEqual(len(self.rig.records()), 3)    # two tombstones
        wait_for(lambda: self.value("outbox_events") == 5, timeout=10,
                 what="the outbox gauge")
        self.assertGreater(self.value("event_delivery_failures_total",
                                      reason="network_error"), 0)
        time.sleep(2)
        self.receiver.up()
        got = self.delivered(5, poke=True)
        time.sleep(1)
        self.rig.cli("deliver")
        got = self.receiver.events()
        # Every event once by id (at least once: a retry of one that
        # arrived would repeat its id), and each link's in order.
        self.assertEqual(len(got), 5)
        self.assertEqual(len({e["id"] for e in got}), 5)
        by_record = {}
        for e in got:
            by_record.setdefault(e["record"], []).append(e["type"])
        self.assertEqual(sorted(by_record.values()), sorted([
            ["link.created", "link.deleted"],
            ["link.created", "link.deleted"],
            ["link.created"]]))
        self.assertIn("user", [e["reason"] for e in got
                               if e["type"] == "link.deleted"])
        self.assertIn("admin", [e["reason"] for e in got
                                if e["type"] == "link.deleted"])
        self.assertEqual(len(self.rig.records()), 1)
        wait_for(lambda: self.value("outbox_events") == 0, timeout=10,
                 what="the outbox to empty")

    def test_a_failing_or_hanging_receiver_delays_no_request(self):
        b, sid = self.rig.link()
        self.delivered(1)

        def timed(n=60):
            times = []
            for i in range(n):
                t0 = time.monotonic()
                path = "/status" if i % 2 else "/token"
                r = (b.get(self.rig.url(BASE + path), nav=False)
                     if path == "/status" else self.rig.token(sid))
                times.append(time.monotonic() - t0)
                self.assertEqual(r.status, 200)
            times.sort()
            return times[len(times) // 2], times[int(len(times) * 0.9)]
        base = timed()
        for mode in ("500", "hang"):
            with self.subTest(mode=mode):
                if mode == "hang":
                    self.receiver.hang()
                else:
                    self.receiver.status = 500
                # Events keep coming: a deliverer is at work throughout.
                for _ in range(3):
                    self.rig.link()
                if mode == "hang":
                    self.assertTrue(self.receiver.hanging.wait(10))
                got = timed()
                if os.environ.get("ISC_SHOW_TIMES"):
                    print(f"\n        {mode}: median {got[0]*1000:.2f} ms "
                          f"(before {base[0]*1000:.2f}), p90 "
                          f"{got[1]*1000:.2f} ms (before {base[1]*1000:.2f})")
                # The median within a few ms of it; the 90th percentile
                # within a scheduler's hiccup (2 cores, shared).
                self.assertLess(got[0], base[0] + 0.005, (base, got))
                self.assertLess(got[1], base[1] + 0.020, (base, got))
                self.receiver.unhang()
                self.receiver.status = 204
        # Then all of them arrive.
        self.delivered(7, poke=True)

    def test_kill_9_between_the_change_and_the_delivery(self):
        self.receiver.hang()
        b, sid = self.rig.link()
        self.assertTrue(self.receiver.hanging.wait(10))
        # The worker's deliverer is waiting on the receiver: kill it,
        # and every worker, as a crash would.
        killed = []
        for pid in self.deliverers() + self.rig.worker_pids():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        self.assertTrue(killed)
        self.receiver.unhang()
        record = self.rig.records()[0].name
        wait_for(lambda: self.rig.cli("deliver", check=False) and [
            e for e in self.receiver.events() if e["record"] == record],
            timeout=15, what="the event to arrive")
        got = [e for e in self.receiver.events() if e["record"] == record]
        self.assertEqual(got[0]["type"], "link.created")
        # Sent again after the crash, under its own id: at least once.
        self.assertEqual({e["id"] for e in got}, {got[0]["id"]})
        self.rig.cli("deliver")
        self.assertEqual(self.value("outbox_events"), 0)

    def test_check_config_says_whether_the_receiver_can_be_reached(self):
        out = self.rig.cli("check-config").stdout
        self.assertRegex(out, r"(?m)^ok +\[events\] url http://127\.0\.0\.1"
                         r":\d+/events: reachable")
        self.receiver.down()
        r = self.rig.cli("check-config")    # a warning, not an error
        self.assertRegex(r.stdout, r"(?m)^warning +\[events\] url .* "
                         r"cannot be reached now: .*network_error.*; events "
                         r"wait in their links' records until it can$")

    def test_refresh_due_backs_off_then_recovers_with_its_event(self):
        b, sid = self.rig.link(expires_in=600)
        record = self.rig.records()[0].name
        self.rig.mock.config(status=503, fault_grant="refresh_token")
        self.assertIn("1 failed", self.rig.cli("refresh-due").stdout)
        # Backing off (2 s): the next runs do not ask.
        for _ in range(3):
            self.assertIn("of 0 links due", self.rig.cli(
                "refresh-due").stdout)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 1)
        self.rig.mock.config(status=None, fault_grant=None)
        time.sleep(2.1)
        self.assertIn("refreshed 1 of 1", self.rig.cli("refresh-due").stdout)
        self.assertEqual(self.rig.mock.token_requests("refresh_token"), 2)
        got = [e for e in self.delivered(3, poke=True)
               if e["record"] == record]
        self.assertEqual([(e["type"], e["reason"]) for e in got], [
            ("link.created", None),
            ("link.refresh_failed", "server_error"),
            ("link.recovered", "server_error")])

    def deliverers(self):
        """The program's detached processes of this rig (a worker's
        deliverer): in a session of their own, below init."""
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{d}/exe").removesuffix(
                    " (deleted)")
                env = open(f"/proc/{d}/environ", "rb").read()
            except OSError:
                continue
            if exe == str(PROGRAM.resolve()) and \
                    str(self.rig.ini).encode() in env and \
                    int(d) not in self.rig.worker_pids():
                found.append(int(d))
        return found


class EventsGivenUp(EventsTest):

    events = {"retry_for": 2}

    def test_undeliverable_events_are_shown_then_sent_on_request(self):
        self.receiver.status = 400
        b, sid = self.rig.link()
        record = self.rig.records()[0].name
        wait_for(lambda: len(self.receiver.attempts) >= 1, timeout=10,
                 what="a first attempt")
        time.sleep(2.5)
        self.rig.cli("deliver")
        self.assertEqual(self.receiver.events(), [])
        wait_for(lambda: self.value("outbox_undeliverable_events") == 1,
                 timeout=10, what="the gauge of undeliverable events")
        self.assertEqual(self.value("events_undeliverable_total"), 1)
        self.assertEqual(self.value("outbox_events"), 0)
        # The admin sees it: in the totals, and on the link's page.
        r = self.get("/admin?format=json", key=ADMIN_KEY)
        self.assertEqual(r.json()["totals"]["events_undeliverable"], 1)
        r = self.get("/admin/record?id=" + record + "&format=json",
                     key=ADMIN_KEY)
        ev = r.json()["events"]
        self.assertEqual(ev["waiting"], [])
        self.assertEqual(ev["undeliverable"][0]["type"], "link.created")
        self.assertEqual(ev["undeliverable"][0]["last_error"], "rejected")
        page = self.get("/admin/record?id=" + record, key=ADMIN_KEY).text
        self.assertIn("link.created", page)
        self.assertIn("given up", page)
        # The receiver mended: deliver --all sends it now.
        self.receiver.status = 204
        self.assertIn("sent 1 event", self.rig.cli("deliver",
                                                    "--all").stdout)
        self.assertEqual([e["type"] for e in self.receiver.events()],
                         ["link.created"])


class EventTypes(EventsTest):

    events = {"types": "link.deleted"}

    def test_only_the_types_asked_for(self):
        b, sid = self.rig.link()
        self.disconnect(b)
        got = self.delivered(1)
        time.sleep(0.5)
        self.rig.cli("deliver")
        self.assertEqual([e["type"] for e in self.receiver.events()],
                         ["link.deleted"])


class JsonLogs(OpsTest):
    """[log] format = json: every line the program writes is one JSON
    object, audit lines with their words as members, and no secret."""

    extra = {"log": {"format": "json"},
             "app": {"audit_log": None}}

    def test_every_line_is_one_json_object(self):
        b, sid = self.rig.link(expires_in=30)
        self.rig.mock.config(status=500, fault_grant="refresh_token")
        self.rig.token(sid)
        log = self.rig.out / "lighttpd-breakage.log"
        lines = [ln for ln in log.read_text().splitlines() if ln]
        objs = [json.loads(ln) for ln in lines]
        self.assertTrue(objs)
        for o in objs:
            self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT.*Z$")
            self.assertIn(o["level"], ("error", "warning", "info", "audit"))
            self.assertIsInstance(o["pid"], int)
            self.assertIn("event", o)
        linked = [o for o in objs if o["event"] == "linked"]
        self.assertEqual(len(linked), 1)
        self.assertRegex(linked[0]["record"], r"^[0-9a-f]{12}$")
        self.assertEqual(linked[0]["refresh_token"], "yes")
        failed = [o for o in objs if o["event"] == "refresh_failed"]
        self.assertEqual(failed[0]["kind"], "server_error")
        self.assertTrue(any(o["event"] == "log" and "token endpoint" in
                            o["message"] for o in objs))
        text = log.read_text()
        for t in (self.rig.mock.tokens()["access_tokens"] +
                  self.rig.mock.tokens()["refresh_tokens"] + [sid]):
            self.assertNotIn(t, text)


class ReadmeReceivers(EventsTest):
    """The README's signature checks, run as they are written, on a real
    delivery: they take it, and refuse a changed body, an old t (a
    replay) and a header that is no signature."""

    HARNESS = {
        "python": ("py", ["python3"], """
import sys
print(insuresign_verify(open(sys.argv[1], "rb").read().strip(),
                        sys.argv[2], open(sys.argv[3], "rb").read()))
"""),
        "php": ("php", ["php"], """
echo insuresign_verify(trim(file_get_contents($argv[1])), $argv[2],
                       file_get_contents($argv[3])) ? "True" : "False";
"""),
        "js": ("js", ["node"], """
const fs = require("fs");
console.log(insuresignVerify(fs.readFileSync(process.argv[2], "utf8").trim(),
  process.argv[3], fs.readFileSync(process.argv[4])) ? "True" : "False");
"""),
    }

    def snippets(self):
        from rig import ROOT
        readme = (ROOT / "README.md").read_text()
        return dict(re.findall(r"```(python|php|js)\n(.*?)```", readme,
                               re.S))

    def test_each_check_takes_a_real_delivery_and_refuses_a_forgery(self):
        import hashlib
        import hmac
        import shutil
        self.rig.link()
        self.delivered(1)
        sig, body = self.receiver.raw[0]
        old = str(int(time.time()) - 3600)
        replay = "t=%s,v1=%s" % (old, hmac.new(
            SECRET.encode(), old.encode() + b"." + body,
            hashlib.sha256).hexdigest())
        cases = [(sig, body, "True"),
                 (sig, body.replace(b"link.created", b"link.deleted"),
                  "False"),
                 (replay, body, "False"),
                 ("nonsense", body, "False")]
        code = self.snippets()
        self.assertEqual(set(code), {"python", "php", "js"})
        secret = self.rig.out / "events.secret"
        for lang, (ext, run, harness) in self.HARNESS.items():
            if shutil.which(run[0]) is None:
                self.fail(f"{run[0]} is not installed (make deps)")
            src = self.rig.out / f"verify.{ext}"
            src.write_text(("<?php\n" if lang == "php" else "") +
                           code[lang] + harness)
            for i, (header, data, want) in enumerate(cases):
                with self.subTest(lang=lang, case=i):
                    f = self.rig.out / "body"
                    f.write_bytes(data)
                    r = subprocess.run([*run, str(src), str(secret), header,
                                        str(f)], capture_output=True,
                                       text=True, timeout=30)
                    self.assertEqual(r.stdout.strip(), want, r.stderr)


if __name__ == "__main__":
    unittest.main()
