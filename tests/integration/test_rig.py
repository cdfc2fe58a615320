"""The rig itself: it runs from any checkout, and what it starts it stops.

Run as root, the Apache variants run the program as www-data, which cannot
enter a checkout in a 0700 home directory (Debian's default) or a mktemp -d
directory; the rig then stages what www-data needs (see rig.stage()).  A
setup that fails half way stops what it had started (the mock first).
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import rig
from rig import ROOT, Mock, Rig

RUN_AS_ROOT = os.geteuid() == 0 and rig._run_user_ids() is not None


def processes_mentioning(text):
    """The pids whose command line contains TEXT (zombies aside)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if text.encode() in (d / "cmdline").read_bytes():
                found.append(int(d.name))
        except (OSError, IndexError):
            continue
    return found


def copy_checkout(into):
    """What a fresh clone holds (with this tree's uncommitted changes) and
    this build's program, copied into INTO/c: no build/, no test output."""
    dst = into / "c"
    skip = {ROOT / ".git", ROOT / "build", ROOT / "run", ROOT / "tests/out"}
    shutil.copytree(ROOT, dst, symlinks=True, ignore=lambda d, names: [
        n for n in names if Path(d, n) in skip or n == "__pycache__" or
        (Path(d) == ROOT / "cgi-bin" and n.endswith(".fcgi"))])
    prog = "cgi-bin/insuresign-connect.fcgi"
    shutil.copy2(ROOT / prog, dst / prog)
    return dst


@unittest.skipUnless(RUN_AS_ROOT, "needs root and a www-data user")
class UnreachableCheckout(unittest.TestCase):
    """A copy of the checkout in a 0700 mktemp -d directory, as root."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="isc-0700-"))
        self.assertEqual(self.tmp.stat().st_mode & 0o777, 0o700)
        self.copy = self.tmp / "c"
        self.addCleanup(self.remove_copy)
        copy_checkout(self.tmp)

    def remove_copy(self):
        link = self.copy / "tests" / "out"
        if link.is_symlink():
            where = Path(os.readlink(link)).parent.parent
            if where.name.startswith("insuresign-connect-tests."):
                shutil.rmtree(where)
        shutil.rmtree(self.tmp)

    def run_tests(self, *args, env=None):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("ISC_")}
        e.update(env or {})
        return subprocess.run([sys.executable, "tests/run", *args],
                              cwd=self.copy, env=e, capture_output=True,
                              text=True, timeout=300)

    def test_an_apache_suite_runs_from_a_0700_directory(self):
        r = self.run_tests("deploy.ApacheFcgid.test_workers_run_as_apaches_"
                           "user")
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 0 failed", out)
        self.assertNotIn("Traceback", out)
        self.assertIn(f"www-data cannot reach {self.copy}", out)
        # The output is where it always is, and nothing outlives the run.
        self.assertTrue((self.copy / "tests/out/ApacheFcgid/apache-stderr.log")
                        .is_file())
        self.assertEqual(processes_mentioning(str(self.copy)), [])
        where = Path(os.readlink(self.copy / "tests/out")).parent.parent
        self.assertEqual(processes_mentioning(str(where)), [])

    def test_no_reachable_place_stops_with_one_line(self):
        # $TMPDIR inside the 0700 directory: no stage www-data can enter.
        hidden = self.tmp / "tmp"
        hidden.mkdir()
        r = self.run_tests("unit", env={"TMPDIR": str(hidden)})
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertRegex(r.stderr, r"^tests: www-data can reach neither "
                         r".* set TMPDIR to a directory www-data can enter")


class FailedSetup(unittest.TestCase):
    """A rig whose setup fails leaves no process behind."""

    def assert_nothing_left(self, name):
        out = str(rig.OUT / name)
        self.assertEqual(processes_mentioning(out), [])
        self.assertEqual([r.name for r in rig.LIVE], [])

    def test_a_failed_keygen_stops_the_mock(self):
        saved = rig.PROGRAM
        rig.PROGRAM = Path("/nonexistent/insuresign-connect.fcgi")
        try:
            with self.assertRaises(FileNotFoundError):
                Rig("RigKeygenFails")
        finally:
            rig.PROGRAM = saved
        self.assert_nothing_left("RigKeygenFails")

    def test_a_web_server_that_cannot_start_stops_the_mock(self):
        saved = rig.APACHE
        rig.APACHE = "false"        # an apache2 that exits at once
        try:
            with self.assertRaisesRegex(RuntimeError,
                                        "apache2 did not start"):
                Rig("RigServerFails", server="apache-fcgid")
        finally:
            rig.APACHE = saved
        self.assert_nothing_left("RigServerFails")

    def test_a_mock_that_cannot_start_is_stopped(self):
        out = rig.OUT / "RigMockFails"
        out.mkdir(parents=True, exist_ok=True)
        with self.assertRaisesRegex(RuntimeError, "the mock did not start"):
            Mock(out, ["http://127.0.0.1/cb"], cert="missing")
        self.assertEqual(processes_mentioning(str(out)), [])

    def test_the_runner_stops_and_fails_a_rig_left_running(self):
        loader = importlib.machinery.SourceFileLoader(
            "runner", str(ROOT / "tests/run"))
        runner = importlib.util.module_from_spec(
            importlib.util.spec_from_loader("runner", loader))
        loader.exec_module(runner)
        left = Rig("RigLeftRunning", start=False)
        try:
            with contextlib.redirect_stdout(io.StringIO()) as said:
                runner.left_running("a suite")
        finally:
            left.stop()
        self.assertEqual(runner.failed, 1)
        self.assertIn("FAIL  a suite: rig RigLeftRunning left running",
                      said.getvalue())
        self.assert_nothing_left("RigLeftRunning")


if __name__ == "__main__":
    unittest.main()
