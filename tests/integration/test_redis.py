"""Several web servers, one Redis ([store] backend = redis), for real:
Debian's redis-server started by the rig (rig.Redis) on a unix socket in
the test's directory, with appendonly on; lighttpd with 4 workers
(conf/lighttpd.conf); the mock InsureSign.  Two rigs on one Redis, with
one key and one mock, are two machines of one site.
"""

import concurrent.futures
import json
import os
import re
import signal
import time
import unittest

import rig
from rig import BACKEND_KEY, BASE, OUT, Redis, Rig, wait_for

SESSION = "insuresign_session"


def recovered(r, b, timeout=5):
    """Waits until a worker answers /status for b again (a worker tries a
    Redis that was down again after a second)."""
    wait_for(lambda: b.get(r.url(BASE + "/status"), nav=False).status == 200,
             timeout=timeout, what="the workers to reach Redis again")


def refreshes(r):
    return r.mock.token_requests("refresh_token")


def race(calls):
    """Runs every call at once; their answers, in order."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda f: f(), calls))


class TwoMachines(unittest.TestCase):
    """Machine A and machine B: two lighttpds, each with its own workers,
    one Redis, one store key, one InsureSign, and one callback URL (A's:
    the load balancer's), so a flow may start on one and end on the
    other."""

    @classmethod
    def setUpClass(cls):
        d = OUT / "TwoMachines"
        if d.exists():
            rig.subprocess.run(["rm", "-rf", str(d)], check=True)
        d.mkdir(parents=True)
        cls.redis = Redis(d)
        cls.addClassCleanup(cls.redis.stop)
        cls.a = Rig("TwoMachinesA", store="redis", redis=cls.redis,
                    backend_key=True)
        cls.addClassCleanup(cls.a.stop)
        cls.b = Rig("TwoMachinesB", store="redis", redis=cls.redis,
                    backend_key=True, mock=cls.a.mock, key=cls.a.key,
                    redirect_uri=cls.a.redirect_uri)
        cls.addClassCleanup(cls.b.stop)

    def setUp(self):
        self.a.mock.reset()
        for r in self.a.records():
            r.unlink()

    def status(self, machine, b):
        r = b.get(machine.url(BASE + "/status"), nav=False)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    def test_a_link_made_on_one_is_seen_refreshed_and_deleted_on_the_other(
            self):
        br, sid = self.a.link(expires_in=30)
        self.assertTrue(self.status(self.b, br)["connected"])
        # Due (30 s is within the refresh margin): B refreshes it, and A
        # hands out what B stored, without a refresh of its own.
        tb = self.b.token(sid)
        self.assertEqual(tb.status, 200, tb.text)
        self.assertEqual(refreshes(self.a), 1)
        ta = self.a.token(sid)
        self.assertEqual(ta.json()["access_token"],
                         tb.json()["access_token"])
        self.assertEqual(refreshes(self.a), 1)
        csrf = self.status(self.b, br)["csrf_token"]
        r = br.post(self.b.url(BASE + "/disconnect"), {"csrf": csrf},
                    headers={"Sec-Fetch-Mode": "navigate"})
        self.assertEqual(r.status, 303)
        self.assertFalse(self.status(self.a, br)["connected"])
        self.assertEqual(self.a.token(sid).status, 404)
        self.assertEqual(self.a.records(), [])

    def test_started_on_one_called_back_on_the_other_and_never_twice(self):
        br = self.b.browser()
        self.a.mock.config(auto_approve=True)
        start = br.get(self.b.url(BASE + "/connect/start"))
        self.assertEqual(start.status, 302)
        callback = br.get(start.location).location
        self.assertTrue(callback.startswith(self.a.url(BASE + "/callback")))
        before = dict(br.jar)
        self.assertEqual(br.get(callback).status, 303)
        self.assertTrue(self.status(self.b, br)["connected"])
        self.assertEqual(self.a.mock.token_requests(), 1)
        # The cookies from before, replayed on B: the pending cookie
        # still holds the state, and only the store can tell it is spent.
        # Spent in Redis, it is spent for every machine.
        replay = self.b.browser()
        replay.jar = before
        r = replay.get(self.b.url(BASE + "/callback?" +
                                  callback.split("?", 1)[1]))
        self.assertEqual(r.status, 403)
        self.assertIn("already used", r.text)
        self.assertEqual(self.a.mock.token_requests(), 1)

    def fifty(self, sid):
        machines = [self.a, self.b] * 25
        return race([lambda m=m: m.token(sid) for m in machines])

    def test_fifty_way_race_across_both_refreshes_once(self):
        br, sid = self.a.link(expires_in=30)
        self.a.mock.config(delay=0.5, fault_grant="refresh_token")
        answers = self.fifty(sid)
        self.assertEqual([r.status for r in answers], [200] * 50)
        self.assertEqual(refreshes(self.a), 1)
        new = self.a.mock.tokens()["access_tokens"][-1]
        self.assertEqual({r.json()["access_token"] for r in answers}, {new})
        self.assertEqual(len(self.a.worker_pids()), 4)
        self.assertEqual(len(self.b.worker_pids()), 4)

    def test_fifty_way_race_with_rotating_refresh_tokens(self):
        br, sid = self.a.link(expires_in=30)
        self.a.mock.config(delay=0.3, fault_grant="refresh_token",
                           rotate_refresh=True)
        answers = self.fifty(sid)
        self.assertEqual([r.status for r in answers], [200] * 50)
        self.assertEqual(refreshes(self.a), 1)
        # The new refresh token was kept: the next refresh works (the
        # mock refuses a rotated-out one: invalid_grant).
        rec = self.a.records()[0]
        self.a.mock.config(expires_in=30, fault_grant="refresh_token")
        self.assertEqual(self.b.cli("refresh", rec.name[:12]).returncode, 0)
        self.assertEqual(self.a.token(sid).status, 200)
        self.assertTrue(self.status(self.a, br)["connected"])

    def test_kill_9_of_the_lock_holder_costs_at_most_the_locks_lifetime(self):
        br, sid = self.a.link(expires_in=30)
        self.a.mock.config(hang=True, fault_grant="refresh_token",
                           fault_count=1)
        stuck = concurrent.futures.ThreadPoolExecutor(1).submit(
            self.a.token, sid)
        name = self.a.records()[0].name
        started = re.compile(r"insuresign-connect\[(\d+)\]: refresh " +
                             name[:12] + ": starting")

        def holder():
            m = started.findall(self.a.logs())
            return int(m[-1]) if m else None
        wait_for(lambda: holder() is not None, what="a refresh to start")
        lock = f"isc:l:{{{name}}}"
        self.assertEqual(len(self.redis.command("GET", lock)), 32)
        os.kill(holder(), signal.SIGKILL)
        stuck.result(timeout=30)
        # Redis keeps a dead holder's lock until it lapses: [http]
        # timeout (4 s here) + 3 commands' timeouts (3 s) + 2 s.
        left = self.redis.command("PTTL", lock)
        self.assertGreater(left, 0)
        t0 = time.monotonic()
        r = self.b.token(sid)
        waited = time.monotonic() - t0
        self.assertEqual(r.status, 200, r.text)
        self.assertLess(waited, left / 1000 + 2)
        self.assertGreater(waited, left / 1000 - 1)
        self.assertLessEqual(left, 9000)
        ok = [e for e in self.a.mock.log(grant_type="refresh_token")
              if e["status"] == 200]
        self.assertEqual(len(ok), 1)
        self.assertEqual(r.json()["access_token"],
                         self.a.mock.tokens()["access_tokens"][-1])

    def test_one_connection_per_worker_reused(self):
        br, sid = self.a.link()
        for _ in range(20):
            for m in (self.a, self.b):
                self.assertEqual(m.token(sid).status, 200)
                self.status(m, br)
        clients = self.redis.clients()
        workers = set(self.a.worker_pids()) | set(self.b.worker_pids())
        served = {p: n for p, n in clients.items() if p in workers}
        self.assertTrue(served)
        self.assertEqual(set(served.values()), {1})
        # No connection is left by processes that are gone (the start-up
        # self-checks close theirs).
        self.assertLessEqual(set(clients), workers)


class RedisFailures(unittest.TestCase):
    """One machine; Redis goes away, fills up, turns replica, stalls."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, store="redis", backend_key=True)
        cls.addClassCleanup(cls.rig.stop)

    def setUp(self):
        self.rig.mock.reset()
        self.rig.redis.command("CONFIG", "SET", "maxmemory", "0")
        self.rig.redis.command("REPLICAOF", "NO", "ONE")
        for r in self.rig.records():
            r.unlink()

    def test_stopped_mid_run_then_restarted_loses_nothing(self):
        links = [self.rig.link(expires_in=30) for _ in range(3)]
        issued = self.rig.mock.tokens()["access_tokens"]
        self.rig.redis.stop()
        try:
            for b, sid in links:
                r = b.get(self.rig.url(BASE + "/status"), nav=False)
                self.assertEqual(r.status, 503)
                self.assertEqual(r.json()["error"], "store_unavailable")
                r = self.rig.token(sid)
                self.assertEqual(r.status, 503)
                self.assertIn("application/json", r.header("Content-Type"))
            other = self.rig.browser()
            cb = self.rig.connect(other)
            self.assertEqual(cb.status, 503)
            self.assertIn("text/html", cb.header("Content-Type"))
            # Nothing spent at InsureSign while nothing could be stored.
            self.assertEqual(self.rig.mock.token_requests(), 0)
        finally:
            self.rig.redis.start()
        logs = self.rig.logs()
        self.assertNotIn(" 500 ", logs)
        # One line per cause and worker, not one per request.
        self.assertLessEqual(logs.count("cannot connect"), 4)
        recovered(self.rig, links[0][0])
        # appendonly: every link is back, and each refresh from now on is
        # one the mock sees and the store keeps.
        tokens = {}
        for b, sid in links:
            self.assertTrue(b.get(self.rig.url(BASE + "/status"),
                                  nav=False).json()["connected"])
            r = self.rig.token(sid)
            self.assertEqual(r.status, 200, r.text)
            tokens[sid] = r.json()["access_token"]
        self.assertEqual(refreshes(self.rig), 3)
        now = self.rig.mock.tokens()["access_tokens"]
        self.assertEqual(set(tokens.values()), set(now) - set(issued))
        for b, sid in links:
            self.assertEqual(self.rig.token(sid).json()["access_token"],
                             tokens[sid])
        self.assertEqual(refreshes(self.rig), 3)

    def test_out_of_memory_refuses_what_it_cannot_keep(self):
        b, sid = self.rig.link(expires_in=30)
        self.rig.redis.command("CONFIG", "SET", "maxmemory", "1")
        try:
            # Reads work; a refresh is not asked for: its tokens would be
            # lost, and a rotating refresh token with them.
            self.assertTrue(b.get(self.rig.url(BASE + "/status"),
                                  nav=False).json()["connected"])
            # A due token: its refresh needs a lock, and a lock is a
            # write: a 503, and nothing asked of InsureSign.
            r = self.rig.token(sid)
            self.assertEqual(r.status, 503)
            self.assertEqual(refreshes(self.rig), 0)
            other = self.rig.browser()
            cb = self.rig.connect(other)
            self.assertEqual(cb.status, 503)
            self.assertIn("cannot be saved", cb.text)
            self.assertEqual(self.rig.mock.token_requests(), 0)
        finally:
            self.rig.redis.command("CONFIG", "SET", "maxmemory", "0")
        self.assertIn("out of memory (maxmemory)", self.rig.logs())
        self.assertEqual(self.rig.token(sid).status, 200)
        self.assertEqual(refreshes(self.rig), 1)

    def test_read_only_replica_refuses_writes(self):
        b, sid = self.rig.link()
        self.rig.redis.command("REPLICAOF", "127.0.0.1", "1")
        try:
            other = self.rig.browser()
            cb = self.rig.connect(other)
            self.assertEqual(cb.status, 503)
            self.assertEqual(self.rig.mock.token_requests(), 0)
        finally:
            self.rig.redis.command("REPLICAOF", "NO", "ONE")
        self.assertIn("a read-only replica: point [store] redis at the "
                      "primary", self.rig.logs())
        self.assertEqual(self.rig.connect(self.rig.browser()).status, 303)

    def test_stalled_redis_is_a_quick_503_not_a_hang(self):
        b, sid = self.rig.link()
        os.kill(self.rig.redis.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = b.get(self.rig.url(BASE + "/status"), nav=False)
            took = time.monotonic() - t0
        finally:
            os.kill(self.rig.redis.proc.pid, signal.SIGCONT)
        self.assertEqual(r.status, 503)
        self.assertLess(took, 3.5)      # [store] redis_timeout_ms 1000
        self.assertIn("no answer within 1000 ms", self.rig.logs())
        recovered(self.rig, b)


class Settings(unittest.TestCase):
    """Wrong settings, caught by check-config and at start."""

    @classmethod
    def setUpClass(cls):
        d = OUT / "RedisSettings"
        if d.exists():
            rig.subprocess.run(["rm", "-rf", str(d)], check=True)
        d.mkdir(parents=True)
        cls.redis = Redis(d, password="the-right-password")
        cls.addClassCleanup(cls.redis.stop)
        cls.rig = Rig(cls.__name__, store="redis", redis=cls.redis)
        cls.addClassCleanup(cls.rig.stop)

    def check(self):
        r = self.rig.cli("check-config", check=False)
        return r.returncode, r.stdout

    def set(self, **store):
        self.rig.settings["store"].update(store)
        self.rig.write_config()

    def test_check_config_says_what_is_wrong(self):
        good = dict(self.rig.settings["store"])
        try:
            rc, out = self.check()
            self.assertEqual(rc, 0, out)
            self.assertRegex(out, r"ok +redis unix:\S+: Redis 7[.\d]*, "
                             r"database 0, master, password accepted")
            self.set(redis_password_file=self.rig.secret_file(
                "wrong.password", "not-it\n"))
            rc, out = self.check()
            self.assertEqual(rc, 1)
            self.assertIn("wrong password or user", out)
            self.set(redis_password_file=None)
            rc, out = self.check()
            self.assertIn("it wants a password: set [store] "
                          "redis_password_file", out)
            self.set(redis=f"unix:{self.rig.out}/no-such.sock")
            rc, out = self.check()
            self.assertEqual(rc, 1)
            self.assertIn("no-such.sock: cannot connect", out)
            self.set(redis=f"127.0.0.1:{rig.free_port()}")
            rc, out = self.check()
            self.assertIn("cannot connect: Connection refused", out)
        finally:
            self.rig.settings["store"] = good
            self.rig.write_config()

    def test_wrong_password_at_start(self):
        good = dict(self.rig.settings["store"])
        b, sid = self.rig.link()
        try:
            self.set(redis_password_file=self.rig.secret_file(
                "wrong.password", "not-it\n"))
            self.rig.restart_server()
            r = b.get(self.rig.url(BASE + "/status"), nav=False)
            self.assertEqual(r.status, 503)
            logs = self.rig.logs()
            self.assertIn("self-check: redis", logs)
            self.assertIn("wrong password or user", logs)
            self.assertNotIn("the-right-password", logs)
            self.assertNotIn("not-it", logs)
            self.set(redis=f"unix:{self.rig.out}/no-such.sock")
            self.rig.restart_server()
            r = b.get(self.rig.url(BASE + "/status"), nav=False)
            self.assertEqual(r.status, 503)
            self.assertRegex(self.rig.logs(), r"self-check: redis unix:\S+"
                             r"/no-such.sock: cannot connect")
        finally:
            self.rig.settings["store"] = good
            self.rig.write_config()
            self.rig.restart_server()


class NothingInClear(unittest.TestCase):
    """Every token, user id and session id of a run, and nowhere in Redis:
    not in a key, not in a value, not in its append-only file."""

    def test_a_full_dump_holds_no_secret(self):
        with Rig("NothingInClear", store="redis", backend_key=True,
                 ini={"identity": {"owner": "backend"}}) as r:
            users = ["alice@example.com", "bob-1234", "Zoë Ünicode"]
            for u in users:
                t = r.browser().request(
                    "POST", r.url(BASE + "/connect-tickets"),
                    body=json.dumps({"user": u}),
                    headers={"Authorization": "Bearer " + BACKEND_KEY,
                             "Content-Type": "application/json"})
                self.assertEqual(t.status, 201, t.text)
                b = r.browser()
                r.mock.config(auto_approve=True, expires_in=30,
                              rotate_refresh=True)
                start = b.get(t.json()["url"])
                self.assertEqual(start.status, 302, start.text)
                cb = b.get(b.get(start.location).location)
                self.assertEqual(cb.status, 303, cb.text)
                tok = r.browser().request(
                    "GET", r.url(BASE + "/token"),
                    headers={"Authorization": "Bearer " + BACKEND_KEY,
                             "X-InsureSign-User": u.encode()})
                self.assertEqual(tok.status, 200, tok.text)
            sessions = []
            r.settings["identity"]["owner"] = "browser"
            r.write_config()
            r.restart_server()
            for _ in range(3):
                b, sid = r.link(expires_in=30)
                self.assertEqual(r.token(sid).status, 200)
                sessions.append(sid)
            r.redis.command("BGREWRITEAOF")
            time.sleep(1)
            secrets = r.mock.tokens()
            dump = r.redis.dump()
            files = b"".join(p.read_bytes() for p in r.redis.dir.rglob("*")
                             if p.is_file() and p.name != "redis.log")
            self.assertGreater(len(r.records()), 5)
            for blob in (dump, files):
                for s in (secrets["access_tokens"] + secrets["refresh_tokens"]
                          + secrets["codes"] + users + sessions):
                    self.assertNotIn(s.encode(), blob, s)


class Migration(unittest.TestCase):
    """A site on files moves to Redis, and back, without a reconnect."""

    def test_a_site_moves_to_redis_and_back(self):
        with Rig("Migration", backend_key=True) as r:
            r.redis = Redis(r.out)
            r.own_redis = True
            r.settings["store"]["redis"] = r.redis.address
            r.write_config()
            links = [r.link(expires_in=30) for _ in range(3)]
            tokens = {sid: r.token(sid).json()["access_token"]
                      for _, sid in links}
            out = r.cli("migrate", "file", "redis").stdout
            self.assertIn("3 links: copied 3, already there 0", out)
            self.assertIn("verified 3 of 3", out)
            out = r.cli("migrate", "file", "redis").stdout
            self.assertIn("copied 0, already there 3", out)
            # The switch: the same links, the same tokens, no refresh.
            asked = refreshes(r)
            r.settings["store"]["backend"] = "redis"
            r.store_kind = "redis"
            r.write_config()
            r.restart_server()
            for b, sid in links:
                self.assertTrue(b.get(r.url(BASE + "/status"),
                                      nav=False).json()["connected"])
                self.assertEqual(r.token(sid).json()["access_token"],
                                 tokens[sid])
            self.assertEqual(refreshes(r), asked)
            # One refreshed on Redis since: a late run keeps it there.
            name = r.records()[0].name
            r.mock.config(expires_in=30, fault_grant="refresh_token")
            r.cli("refresh", name[:12])
            out = r.cli("migrate", "file", "redis").stdout
            self.assertIn("copied 0, already there 2, newer there 1", out)
            # And back: the newer one goes to the files.
            out = r.cli("migrate", "redis", "file").stdout
            self.assertIn("copied 1, already there 2", out)
            self.assertIn("verified 3 of 3", out)
            r.settings["store"]["backend"] = "file"
            r.store_kind = "file"
            r.write_config()
            r.restart_server()
            for b, sid in links:
                self.assertTrue(b.get(r.url(BASE + "/status"),
                                      nav=False).json()["connected"])
            self.assertEqual(refreshes(r), asked + 1)

    def test_migrate_says_what_it_cannot_do(self):
        with Rig("MigrationRefused", start=False) as r:
            def fails(*args):
                out = r.cli("migrate", *args, check=False)
                self.assertEqual(out.returncode, 1, out.stdout)
                return out.stderr
            self.assertIn("expected `migrate file redis` or `migrate redis "
                          "file`", fails("file", "file"))
            self.assertIn("[store] redis: not set", fails("file", "redis"))
            r.settings["store"]["redis"] = f"unix:{r.out}/no-redis.sock"
            r.write_config()
            self.assertIn("no-redis.sock: cannot connect",
                          fails("redis", "file"))
            self.assertEqual(r.cli("migrate", "file", check=False)
                             .returncode, 2)

    def test_admin_views_are_the_same_on_both_stores(self):
        admin_key = "admin-key-" + "x" * 40
        with Rig("MigrationAdmin", backend_key=True) as r:
            r.redis = Redis(r.out)
            r.own_redis = True
            r.settings["store"]["redis"] = r.redis.address
            r.settings["admin"] = {"key_file": r.secret_file(
                "admin.key", admin_key + "\n")}
            # Events for a receiver that is not there: they wait in the
            # records (the outbox), and in the tombstone of a deleted one.
            r.settings["events"] = {
                "url": f"http://127.0.0.1:{rig.free_port()}/events",
                "secret_file": r.secret_file("events.secret", "s" * 40),
                "from_workers": False}
            r.write_config()
            r.restart_server()
            for _ in range(4):
                r.link()
            gone = r.records()[0].name
            r.cli("delete", gone[:12])
            r.mock.config(omit=["refresh_token"], expires_in=600,
                          fault_grant="authorization_code")
            r.link()                        # expiring: no refresh token
            b, sid = r.link(expires_in=30)
            r.mock.config(status=503, fault_grant="refresh_token")
            r.token(sid)                    # refresh failing
            r.mock.reset(keep_grants=True)
            b, sid = r.link(expires_in=30)
            r.mock.config(error="invalid_grant",
                          fault_grant="refresh_token")
            r.token(sid)                    # needs reconnect
            r.mock.reset(keep_grants=True)
            # 6 links and the deleted one's tombstone, holding its
            # link.deleted for the receiver.
            self.assertIn("7 links: copied 7", r.cli("migrate", "file",
                                                      "redis").stdout)

            def views():
                out = {}
                h = {"Authorization": "Bearer " + admin_key}
                for q in ["", "sort=status", "sort=expires",
                          "sort=refreshed", "status=connected",
                          "status=expiring", "status=failing",
                          "status=reconnect", "sort=status&page=2",
                          "q=" + r.records()[0].name[:2]]:
                    j = r.browser().get(
                        r.url(BASE + "/admin?format=json&" + q),
                        headers=h).json()
                    for rec in j["records"]:
                        rec.pop("expires_in", None)
                    out[q] = j
                return out
            on_files = views()
            r.settings["store"]["backend"] = "redis"
            r.store_kind = "redis"
            r.write_config()
            r.restart_server()
            on_redis = views()
            self.assertEqual(on_files[""]["matching"], 6)
            totals = dict(on_files[""]["totals"])
            self.assertGreaterEqual(totals.pop("events_waiting"), 7)
            self.assertIsNotNone(totals.pop("events_oldest"))
            self.assertEqual(totals, {"connected": 5, "needs_reconnect": 1,
                                      "refresh_failing": 1,
                                      "expiring_within_hour": 1,
                                      "events_undeliverable": 0})
            for q in on_files:
                self.assertEqual(on_redis[q], on_files[q], q)


class Gc(unittest.TestCase):

    def test_idle_expiry_is_redis_and_gc_keeps_the_indexes(self):
        with Rig("RedisGc", store="redis", backend_key=True,
                 ini={"store": {"max_idle_days": 3}}) as r:
            links = [r.link() for _ in range(3)]
            names = [rec.name for rec in r.records()]
            ttl = r.redis.command("PTTL", f"isc:r:{{{names[0]}}}")
            self.assertGreater(ttl, 3 * 86400 * 1000 - 120000)
            self.assertLessEqual(ttl, 3 * 86400 * 1000)
            # As if its TTL ran out: its index entries stay until read.
            r.redis.command("DEL", f"isc:r:{{{names[0]}}}")
            out = r.cli("gc").stdout
            self.assertIn("kept 2 links (Redis expires those unused for 3 "
                          "days)", out)
            self.assertIn("removed 1 index entry of a link Redis expired",
                          out)
            self.assertEqual(r.redis.command("ZCARD", "isc:{i}:all:c"), 2)
            self.assertNotIn(names[0], r.redis.dump().decode(
                errors="replace"))
            self.assertEqual(len(links), 3)


if __name__ == "__main__":
    unittest.main()
