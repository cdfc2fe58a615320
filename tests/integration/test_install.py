"""make install and make uninstall, into a DESTDIR."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make(*args):
    return subprocess.run(["make", "-s", "--no-print-directory", *args],
                          cwd=ROOT, capture_output=True, text=True)


class Install(unittest.TestCase):

    def test_install_and_uninstall(self):
        dest = Path(tempfile.mkdtemp(prefix="isc-install-"))
        try:
            opts = [f"DESTDIR={dest}", "PREFIX=/usr/local"]
            r = make("install", *opts)
            self.assertEqual(r.returncode, 0, r.stderr)
            prog = dest / "usr/local/lib/insuresign-connect/" \
                          "insuresign-connect.fcgi"
            self.assertTrue(os.access(prog, os.X_OK))
            cli = dest / "usr/local/sbin/insuresign-connect"
            self.assertEqual(os.readlink(cli),
                             "/usr/local/lib/insuresign-connect/"
                             "insuresign-connect.fcgi")
            for page in ("man8/insuresign-connect.8",
                         "man5/insuresign-connect.ini.5"):
                self.assertTrue((dest / "usr/local/share/man" / page)
                                .is_file())
            share = dest / "usr/local/share/insuresign-connect"
            for f in ("lighttpd.conf", "apache-fcgid.conf",
                      "insuresign-connect.service", "insuresign-connect.cron"):
                self.assertTrue((share / f).is_file(), f)
            ini = dest / "etc/insuresign-connect/insuresign-connect.ini"
            self.assertEqual(stat.S_IMODE(ini.stat().st_mode), 0o640)
            # The operator's config survives a second install.
            ini.write_text("[insuresign]\nclient_id = mine\n")
            self.assertEqual(make("install", *opts).returncode, 0)
            self.assertEqual(ini.read_text(),
                             "[insuresign]\nclient_id = mine\n")
            r = make("uninstall", *opts)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(prog.exists())
            self.assertFalse(cli.is_symlink() or cli.exists())
            self.assertFalse(share.exists())
            self.assertTrue(ini.exists())      # never removed either
        finally:
            shutil.rmtree(dest)


if __name__ == "__main__":
    unittest.main()
