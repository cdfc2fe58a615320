"""How the program serves: what it takes from its command line, who may
talk to its own listener, and what a slow client can hold.

  CgiArgv         plain CGI through Apache (conf/apache-cgi.conf): a query
                  string without '=' becomes command-line words (RFC 3875
                  section 4.4); the program must serve, never run them
"""

import os
import secrets
import socket
import unittest
import urllib.parse

from rig import BASE, Rig, free_port, port_open, wait_for


class CgiArgv(unittest.TestCase):
    maxDiff = None
    """Under mod_cgid, GET /insuresign/status?delete+3f9a runs the program
    as `insuresign-connect.fcgi delete 3f9a`.  Each such request must get
    the answer /status gives without the words, and do nothing else."""

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(cls.__name__, server="cgi")

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()

    def get(self, b, query, timeout=20):
        """GET /status?QUERY with b's cookies; (status, JSON or None)."""
        u = urllib.parse.urlsplit(self.rig.url(BASE + "/status"))
        conn = socket.create_connection((u.hostname, u.port), timeout=timeout)
        try:
            cookie = "insuresign_session=" + b.cookie("insuresign_session")
            conn.sendall(f"GET {u.path}?{query} HTTP/1.0\r\n"
                         f"Host: {u.netloc}\r\nCookie: {cookie}\r\n\r\n"
                         .encode())
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            conn.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    def left_nothing_running(self):
        """Every CGI process is gone: none of them became a server."""
        try:
            wait_for(lambda: not self.rig._program_pids(), timeout=3)
            return True
        except TimeoutError:
            return False

    def test_argv_words_are_never_commands(self):
        rig = self.rig
        b, sid = rig.link()
        records = rig.records()
        self.assertEqual(len(records), 1)
        prefix = records[0].name[:8]
        token = rig.mock.tokens()["access_tokens"][-1]
        want = self.get(b, "")
        self.assertEqual(want[0], 200)
        self.assertIn(b'"connected":true', want[1].replace(b" ", b""))
        keyfile = f"/tmp/isc-argv-{secrets.token_hex(6)}"
        port = free_port()
        queries = [
            "list", "list+--json", f"show+{prefix}", f"delete+{prefix}",
            f"refresh+{prefix}", "gc", "rekey", f"keygen+{keyfile}",
            "check-config", f"--listen+127.0.0.1:{port}",
            f"--listen+127.0.0.1:{port}+--workers+4", "--config+/etc/passwd",
            f"token+--session+{sid}", f"--session+{sid}+token", "--help",
            "--bogus",
        ]
        rig.mock.reset(keep_grants=True)
        wrong = []
        try:
            for q in queries:
                try:
                    got = self.get(b, q, timeout=10)
                except socket.timeout:
                    got = ("no answer in 10 s", b"")
                if got != want:
                    wrong.append(f"?{q}: {got[0]} {got[1][:80]!r}")
                if not self.left_nothing_running():
                    wrong.append(f"?{q}: left a process running")
            self.assertEqual(wrong, [], "\n".join(wrong))
            self.assertFalse(port_open(port), "a listener was started")
            self.assertEqual(rig.records(), records, "a record changed")
            self.assertFalse(os.path.exists(keyfile), "keygen ran")
            self.assertEqual(rig.mock.token_requests(), 0, "a refresh ran")
            logs = rig.logs()
            self.assertNotIn(token, logs)
            self.assertNotIn(token[:12], logs)
            self.assertNotIn("root:x:0:0", logs)
        finally:
            if os.path.exists(keyfile):
                os.unlink(keyfile)
            for pid in rig._program_pids():
                rig._kill_straggler(pid, "a server started through argv")


if __name__ == "__main__":
    unittest.main()


if __name__ == "__main__":
    unittest.main()
