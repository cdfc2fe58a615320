"""make install and make uninstall, into a DESTDIR: what goes where, with
which owner and mode."""

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from rig import ROOT

RUN_USER = "www-data"


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)


def make(*args):
    return run(["make", "-s", "--no-print-directory", *args], cwd=ROOT)


def owner(path):
    st = os.stat(path)
    return (pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name,
            stat.S_IMODE(st.st_mode))


def as_root():
    return os.geteuid() == 0


class Install(unittest.TestCase):

    def test_install_and_uninstall(self):
        dest = Path(tempfile.mkdtemp(prefix="isc-install-"))
        try:
            opts = [f"DESTDIR={dest}", "PREFIX=/usr/local"]
            if not as_root():
                opts.append("RUN_USER=")
            r = make("install", *opts)
            self.assertEqual(r.returncode, 0, r.stderr)
            prog = dest / "usr/local/lib/insuresign-connect/" \
                          "insuresign-connect.fcgi"
            self.assertTrue(os.access(prog, os.X_OK))
            # Relative, so that it works below DESTDIR as well.
            cli = dest / "usr/local/sbin/insuresign-connect"
            self.assertEqual(os.readlink(cli), "../lib/insuresign-connect/"
                             "insuresign-connect.fcgi")
            self.assertEqual(cli.resolve(), prog.resolve())
            for page in ("man8/insuresign-connect.8",
                         "man5/insuresign-connect.ini.5"):
                self.assertTrue((dest / "usr/local/share/man" / page)
                                .is_file())
            share = dest / "usr/local/share/insuresign-connect"
            for f in ("lighttpd.conf", "apache-fcgid.conf",
                      "insuresign-connect.service", "insuresign-connect.cron"):
                self.assertTrue((share / f).is_file(), f)
            etc = dest / "etc/insuresign-connect"
            ini = etc / "insuresign-connect.ini"
            self.assertEqual(ini.read_text(),
                             (ROOT / "conf/insuresign-connect.ini").read_text())
            state = dest / "var/lib/insuresign-connect"
            if as_root():
                # Issue 12 item 1, issue 10 section 6: the web server's
                # user reads the config and cannot change it; the state
                # is its own; nobody else gets in.
                self.assertEqual(owner(etc), ("root", RUN_USER, 0o750))
                self.assertEqual(owner(ini), ("root", RUN_USER, 0o640))
                self.assertEqual(owner(state), (RUN_USER, RUN_USER, 0o700))
                self.assertEqual(owner(state / "tokens"),
                                 (RUN_USER, RUN_USER, 0o700))
            # The operator's config and store survive a second install.
            ini.write_text("[insuresign]\nclient_id = mine\n")
            os.chmod(state / "tokens", 0o750)
            self.assertEqual(make("install", *opts).returncode, 0)
            self.assertEqual(ini.read_text(),
                             "[insuresign]\nclient_id = mine\n")
            self.assertEqual(stat.S_IMODE((state / "tokens").stat().st_mode),
                             0o750)
            r = make("uninstall", *opts)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(prog.exists())
            self.assertFalse(cli.is_symlink() or cli.exists())
            self.assertFalse(share.exists())
            self.assertTrue(ini.exists())      # never removed either
            self.assertTrue((state / "tokens").is_dir())
        finally:
            shutil.rmtree(dest)


if __name__ == "__main__":
    unittest.main()
