"""One whole flow with every FastCGI worker under valgrind's memcheck: no
errors, nothing definitely lost (the connect, the code exchange with
libcurl loaded, status, a refresh through /token, disconnect, and exit on
SIGTERM); on the file store, and on Redis (hiredis's replies and
connections)."""

import os
import re
import shutil
import signal
import time
import unittest

from rig import BASE, PROGRAM, Rig


class Valgrind(unittest.TestCase):

    def test_a_whole_flow_is_clean(self):
        self.whole_flow("file")

    def test_a_whole_flow_on_redis_is_clean(self):
        self.whole_flow("redis")

    def whole_flow(self, store):
        valgrind = shutil.which("valgrind")
        self.assertIsNotNone(valgrind, "valgrind is missing: make deps")
        rig = Rig("Valgrind-" + store, start=False, backend_key=True,
                  store=store)
        try:
            logs = rig.out / "valgrind"
            logs.mkdir()
            wrapper = rig.out / "under-valgrind"
            wrapper.write_text(
                "#!/bin/sh\n"
                f"exec {valgrind} --error-exitcode=1 --leak-check=full "
                "--errors-for-leak-kinds=definite --show-leak-kinds=definite "
                f"--log-file={logs}/worker-%p.log {PROGRAM} \"$@\"\n")
            wrapper.chmod(0o755)
            rig.serve_program = wrapper
            rig.start_server()
            self.flow(rig)
            self.stop_workers(rig, logs)
        finally:
            rig.stop()
        reports = sorted(logs.glob("worker-*.log"))
        self.assertTrue(reports)
        for r in reports:
            text = r.read_text()
            self.assertIn("ERROR SUMMARY: 0 errors", text, r.name)
            self.assertNotRegex(text, r"definitely lost: [1-9]", r.name)

    def flow(self, rig):
        b = rig.browser()
        # Slow under valgrind: give each step time.
        self.assertEqual(rig.connect(b).status, 303)
        st = b.get(rig.url(BASE + "/status"), nav=False)
        self.assertTrue(st.json()["connected"])
        sid = b.cookie("insuresign_session")
        rig.mock.config(expires_in=30)
        for _ in range(2):        # due: a refresh through libcurl
            r = rig.token(sid)
            self.assertEqual(r.status, 200, r.text)
        self.assertEqual(b.get(rig.url(BASE + "/connect")).status, 200)
        r = b.post(rig.url(BASE + "/disconnect"),
                   {"csrf": st.json()["csrf_token"]})
        self.assertEqual(r.status, 204)

    def stop_workers(self, rig, logs):
        """Stops lighttpd (so that it respawns no one) and each worker,
        and waits for valgrind's last words."""
        for p in rig.procs:
            p.terminate()
        for pid in self.valgrind_pids(rig):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = all("ERROR SUMMARY" in p.read_text()
                       for p in logs.glob("worker-*.log"))
            if done and not self.valgrind_pids(rig):
                return
            time.sleep(0.2)
        self.fail("valgrind did not finish in time: " + repr(
            [open(f"/proc/{p}/cmdline", "rb").read()[:300]
             for p in self.valgrind_pids(rig)]))

    @staticmethod
    def valgrind_pids(rig):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cmd = open(f"/proc/{d}/cmdline", "rb").read()
            except OSError:
                continue
            if b"valgrind" in cmd and str(rig.out).encode() in cmd:
                pids.append(int(d))
        return pids


if __name__ == "__main__":
    unittest.main()
