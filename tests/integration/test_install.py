"""make install, and the README as an operator follows it (issue 12).

Install              make install and make uninstall into a DESTDIR: what
                     goes where, with which owner and mode.
Snippets             every config block of README.md parses as pasted
                     (apache2 -t, lighttpd -tt, and the ini is the file
                     make install installs); so do the shipped conf/ files.
ReadmeLighttpd,      README.md's Install section, extracted from README.md
ReadmeApache         and run by bash as written, into a scratch root (the
                     real paths it names are rewritten below one: this
                     machine's /etc and /usr/local are not the test's to
                     change); then its Web server commands: lighttpd
                     started by (a scratch copy of) its own init script,
                     stderr /dev/null as a daemon's, or Apache through
                     a2enmod, a2enconf and apache2ctl on a scratch copy of
                     /etc/apache2.  A connect through the mock InsureSign,
                     the README's curl lines for /status, /token and
                     /admin, and a wrong client_secret whose log line is
                     found where the README says it goes.  Each numbered
                     point of issue 12 is a test of its own (test_item_N).

Where a person would act, a stand-in does: `editor` sets the client_id
and redirect_uri (and points the config at the mock), `cat > client_secret`
reads the secret from stdin, `apt-get install` checks that the packages
are installed (dpkg-query), `service` runs the scratch init script.
"""

import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from rig import (CLIENT_SECRET, ROOT, Rig, certs, free_port, port_open,
                 wait_for)

README = ROOT / "README.md"
RUN_USER = "www-data"

# The real paths README.md and the shipped files name, each moved below
# the scratch root.  Longest first: /run/lighttpd before /run.
REAL = sorted((
    "/etc/insuresign-connect", "/var/lib/insuresign-connect", "/usr/local",
    "/etc/lighttpd", "/etc/init.d/lighttpd", "/var/log/lighttpd",
    "/run/lighttpd", "/var/cache/lighttpd", "/etc/apache2",
    "/var/log/apache2", "/var/run/apache2", "/var/lock/apache2",
    "/var/lib/apache2", "/run/mod_fcgid", "/run/insuresign-connect",
), key=len, reverse=True)


ROOTED = r"(?<![\w/.-])(" + "|".join(map(re.escape, REAL)) + \
    r")(?=[/\s\"'.;:)$]|$)"


def rooted(text, root):
    """TEXT with each real path of REAL moved below ROOT (once: a path
    already below ROOT is left alone)."""
    return re.sub(ROOTED, lambda m: str(root) + m.group(1), text)


def sections():
    """{'## heading': text} of README.md."""
    out, name = {}, None
    for line in README.read_text().splitlines(keepends=True):
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = ""
        elif name:
            out[name] += line
    return out


def blocks(text, lang):
    """The fenced ```LANG blocks of TEXT."""
    return re.findall(rf"(?ms)^```{lang}\n(.*?)^```", text)


def commands(block):
    """The shell commands of a block: continuation lines joined, comments
    and blank lines dropped."""
    out, cur = [], ""
    for line in block.splitlines():
        if cur:
            cur += " " + line.strip()
        elif line.strip() and not line.lstrip().startswith("#"):
            cur = line
        else:
            continue
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
        else:
            out.append(cur)
            cur = ""
    return out


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


APACHE_MODULES = ("mpm_event", "authz_core", "alias", "mime", "env",
                  "fcgid", "proxy", "proxy_fcgi", "cgid", "auth_basic",
                  "authn_core", "authn_file", "authz_user", "auth_openidc")


class Snippets(unittest.TestCase):
    """Issue 12 item 3: every config block in README.md parses as pasted,
    and so does every shipped conf/ file."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="isc-snippet-"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def apache_t(self, snippet):
        """apache2 -t on a minimal server that includes SNIPPET."""
        (self.tmp / "snippet.conf").write_text(snippet)
        mods = "".join(
            f'LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n'
            for m in APACHE_MODULES)
        (self.tmp / "httpd.conf").write_text(
            f'ServerRoot "{self.tmp}"\nServerName 127.0.0.1\n'
            f'Listen 127.0.0.1:{free_port()}\nPidFile "{self.tmp}/pid"\n'
            f'ErrorLog "{self.tmp}/error.log"\n{mods}'
            f'Include "{self.tmp}/snippet.conf"\n')
        return run(["apache2", "-t", "-f", str(self.tmp / "httpd.conf")])

    def lighttpd_tt(self, snippet):
        """lighttpd -tt on a minimal server that includes SNIPPET."""
        (self.tmp / "snippet.conf").write_text(snippet)
        (self.tmp / "lighttpd.conf").write_text(
            f'server.document-root = "{self.tmp}"\n'
            f'server.bind = "127.0.0.1"\nserver.port = {free_port()}\n'
            f'include "{self.tmp}/snippet.conf"\n')
        return run(["lighttpd", "-tt", "-f", str(self.tmp / "lighttpd.conf")])

    def test_item_3_readme_apache_blocks_parse(self):
        found = blocks(README.read_text(), "apache")
        self.assertGreaterEqual(len(found), 1)
        for b in found:
            r = self.apache_t(b)
            self.assertEqual(r.returncode, 0, b + r.stdout + r.stderr)

    def test_item_3_readme_lighttpd_blocks_parse(self):
        found = blocks(README.read_text(), "lighttpd")
        self.assertGreaterEqual(len(found), 1)
        for b in found:
            r = self.lighttpd_tt(b)
            self.assertEqual(r.returncode, 0, b + r.stdout + r.stderr)

    def test_item_3_readme_ini_is_the_installed_file(self):
        # It parses: ReadmeLighttpd and ReadmeApache run check-config on
        # the installed copy.  Here: the README shows that very file.
        found = blocks(README.read_text(), "ini")
        self.assertIn((ROOT / "conf/insuresign-connect.ini").read_text(),
                      found)

    def test_shipped_confs_parse(self):
        auth = (ROOT / "conf/apache-auth-basic.conf").read_text()
        for name in ("apache-fcgid.conf", "apache-cgi.conf",
                     "apache-proxy-fcgi.conf"):
            for extra in ("", auth):    # the sign-in goes after any
                r = self.apache_t((ROOT / "conf" / name).read_text() +
                                  extra)
                self.assertEqual(r.returncode, 0,
                                 name + r.stdout + r.stderr)
        auth = (ROOT / "conf/lighttpd-auth.conf").read_text()
        for name in ("lighttpd.conf", "lighttpd-socket.conf"):
            for extra in ("", auth):
                text = ((ROOT / "conf" / name).read_text() + extra).replace(
                    "/var/log/lighttpd/", f"{self.tmp}/")
                r = self.lighttpd_tt(text)
                self.assertEqual(r.returncode, 0,
                                 name + r.stdout + r.stderr)

    def test_the_install_packages_are_the_makefiles(self):
        # The README's apt-get line cannot drift from what make needs.
        cmd = next(c for c in commands(blocks(sections()["Install"],
                                              "sh")[0])
                   if c.startswith("apt-get install"))
        m = re.search(r"(?ms)^DEB_BUILD\s*:=(.*?)(?<!\\)\n",
                      (ROOT / "Makefile").read_text())
        self.assertEqual(sorted(cmd.split()[2:]),
                         sorted(m.group(1).replace("\\", " ").split()))

    def test_item_9_the_lighttpd_file_counts_its_variables_right(self):
        text = (ROOT / "conf/lighttpd.conf").read_text()
        names = re.findall(r"(?m)^var\.(\w+)\s*=", text)
        words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
        for word in re.findall(r"\b(two|three|four|five|six) variables",
                               text):
            self.assertEqual(words[word], len(names))
        # Where it goes, and that make install put a copy there to take.
        self.assertIn("/etc/lighttpd/conf-enabled/50-insuresign.conf", text)
        web = sections()["Web server"]
        self.assertIn("/etc/lighttpd/conf-enabled/50-insuresign.conf", web)
        self.assertIn("/usr/local/share/insuresign-connect/", web)


class Daemon:
    """A server that went to the background (init script, apache2ctl),
    known by its pid file, with the Popen methods Rig.stop uses."""

    def __init__(self, pidfile, stop, env):
        self.pidfile = pidfile
        self.stop = stop
        self.env = env
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(),
                 what=str(pidfile))
        self.pid = int(pidfile.read_text().split()[0])

    def poll(self):
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text() \
                .rsplit(")", 1)[1].split()[0]
        except OSError:
            return 0
        return 0 if state == "Z" else None

    def terminate(self):
        run(self.stop, env=self.env, stdin=subprocess.DEVNULL,
            capture_output=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout=None):
        end = time.monotonic() + (timeout or 60)
        while self.poll() is None:
            if time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return 0


@unittest.skipUnless(as_root(), "installs for www-data: needs root")
class Readme:
    """A mixin: README.md's Install section, run as written into a
    scratch root, then the web server (SERVER) its Web server section
    sets up.  One install and one server per class."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig("Readme" + cls.server, start=False)
        try:
            cls.setup()
        except BaseException:
            # A server that started, known by its pid file or not yet.
            cls.rig.stop()
            if hasattr(cls, "stop_command"):
                run(cls.stop_command, env=cls.env,
                    stdin=subprocess.DEVNULL, capture_output=False,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.rig.stop()

    @classmethod
    def setup(cls):
        rig = cls.rig
        cls.root = root = rig.out / "root"
        root.mkdir()
        for d in (rig.out, root):
            os.chmod(d, 0o755)      # www-data reaches the installed files
        cls.etc = root / "etc/insuresign-connect"
        cls.ini = cls.etc / "insuresign-connect.ini"
        rig.ini = cls.ini
        rig.store = root / "var/lib/insuresign-connect/tokens"
        cls.env = dict(
            os.environ,
            PATH=f"{root}/test-bin:{root}/usr/local/sbin:" +
            os.environ["PATH"],
            INSURESIGN_CONNECT_CONF=str(cls.ini),
            APACHE_CONFDIR=str(root / "etc/apache2"),
            APACHE_STATE_DIRECTORY=str(root / "var/lib/apache2"),
            _SYSTEMCTL_SKIP_REDIRECT="1")
        cls.stand_ins()
        cls.install = cls.run_block(sections()["Install"], stdin=(
            CLIENT_SECRET + "\n"))
        if cls.install.returncode != 0:
            raise AssertionError("the README's Install section failed:\n" +
                                 cls.install.stdout + cls.install.stderr)
        # The conf/ files as shipped, in the scratch root's world: their
        # variables name its paths.
        for f in (root / "usr/local/share/insuresign-connect").iterdir():
            f.write_text(rooted(f.read_text(), root))
        cls.start_server()

    @classmethod
    def stand_ins(cls):
        """What a person does at a prompt, and the commands that would
        reach outside the scratch root."""
        rig, root = cls.rig, cls.root
        bin_ = root / "test-bin"
        bin_.mkdir()
        mock = rig.mock.url
        # The operator types their client_id and redirect_uri; this
        # InsureSign is the mock, so its endpoints and CA go in too.
        (bin_ / "editor").write_text(f"""#!/usr/bin/python3
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("client_id          = your-client-id",
                    "client_id          = test-client")
text = text.replace(
    "redirect_uri       = https://app.example.com/insuresign/callback",
    "redirect_uri       = {rig.redirect_uri}")
text = text.replace("[insuresign]\\n", '''[insuresign]
authorize_url      = {mock}/oauth2/authorize
token_url          = {mock}/oauth2/token
ca_file            = {certs() / "ca.pem"}
''', 1)
# The scratch root's world: its paths below the root (test_install.rooted).
text = re.sub({ROOTED!r}, lambda m: {str(root)!r} + m.group(1), text)
open(path, "w").write(text)
""".replace("import sys", "import re, sys"))
        # Installing packages is not the test's to do: they must be there.
        (bin_ / "apt-get").write_text(
            "#!/bin/sh\n[ \"$1\" = install ] && shift\n"
            "exec dpkg-query -W \"$@\" >/dev/null\n")
        (bin_ / "service").write_text(
            f"#!/bin/sh\nexec {root}/etc/init.d/\"$1\" \"$2\"\n")
        for f in bin_.iterdir():
            f.chmod(0o755)

    @classmethod
    def run_block(cls, text, stdin="", block=0):
        """The BLOCKth sh block of TEXT, rooted, by bash -e, from the
        source directory: its output in a file, not a pipe (a daemon it
        starts may keep its stdout)."""
        script = rooted(blocks(text, "sh")[block], cls.root)
        # make install's DESTDIR is the scratch root.
        script = re.sub(r"(?m)^make install\b",
                        f"make install DESTDIR={cls.root}", script)
        path = cls.rig.out / f"block-{time.monotonic_ns()}.sh"
        path.write_text("set -ex\n" + script)
        with open(path.with_suffix(".out"), "w+") as out:
            r = subprocess.run(["bash", str(path)], input=stdin, text=True,
                               cwd=ROOT, env=cls.env, stdout=out,
                               stderr=subprocess.STDOUT, timeout=300)
            out.seek(0)
            r.stdout, r.stderr = out.read(), ""
        return r

    def cli(self, *args, user=RUN_USER):
        """The installed command line, as USER (None: root)."""
        cmd = ["insuresign-connect", *args]
        if user:
            cmd = ["runuser", "-u", user, "--", *cmd]
        return run(cmd, env=self.env)

    # -- the numbered points of issue 12 --------------------------------

    def test_item_1_the_layout_works_for_the_web_servers_user(self):
        self.assertEqual(owner(self.etc), ("root", RUN_USER, 0o750))
        self.assertEqual(owner(self.ini), ("root", RUN_USER, 0o640))
        for name in ("store.key", "client_secret", "backend.key",
                     "admin.key"):
            self.assertEqual(owner(self.etc / name),
                             (RUN_USER, "root", 0o600), name)
        for d in (self.root / "var/lib/insuresign-connect", self.rig.store):
            self.assertEqual(owner(d)[0::2], (RUN_USER, 0o700))
        # check-config, the README's last command, passed as www-data.
        self.assertRegex(self.install.stdout,
                         r"(?m)^ok +\S+insuresign-connect.ini: every key "
                         r"valid")
        self.assertNotIn("cannot read", self.install.stdout)
        # Nobody else reads a thing: check-config as another user.
        r = self.cli("check-config", user="nobody")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read: Permission denied", r.stderr)

    def test_item_2_the_secret_file_and_a_wrong_owner(self):
        install = sections()["Install"]
        self.assertIn("install -m 0600 -o www-data /dev/null client_secret",
                      install)
        self.assertEqual((self.etc / "client_secret").read_text(),
                         CLIENT_SECRET + "\n")
        secret = self.etc / "client_secret"
        os.chown(secret, 0, 0)
        try:
            r = self.cli("check-config")
        finally:
            os.chown(secret, pwd.getpwnam(RUN_USER).pw_uid, 0)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"[insuresign] client_secret_file = \"{secret}\": "
                      f"owned by root; the program runs as www-data: chown "
                      f"www-data {secret}", r.stderr)
        self.assertNotIn("Permission denied", r.stderr)

    def test_item_5_every_command_works_as_root(self):
        for name, text in sections().items():
            for b in blocks(text, "sh"):
                self.assertNotRegex(b, r"\bsudo(edit)?\b", name)
        self.assertEqual(self.install.returncode, 0)

    def test_item_6_root_is_sent_to_the_stores_owner(self):
        for args in (["list"], ["check-config"]):
            r = self.cli(*args, user=None)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"runuser -u www-data -- insuresign-connect "
                          f"{args[0]}", r.stderr)
            self.assertNotRegex(r.stderr, r"\buid\b|chown")
        # And the line it gives works.
        r = self.cli("list")
        self.assertEqual(r.returncode, 0, r.stderr)

    def connected(self):
        """A browser linked through the mock, once per class."""
        cls = type(self)
        if not hasattr(cls, "browser"):
            b = self.rig.browser()
            r = self.rig.connect(b)
            self.assertEqual(r.status, 303, r.text)
            cls.browser = b
        return cls.browser.cookie("insuresign_session")

    def check_it(self, which):
        """The README's "Check it" curl line for WHICH (a route and what
        tells it apart), run by bash, rooted, on this server's port."""
        web = sections()["Web server"]
        block = blocks(web.split("**Check it**", 1)[1], "sh")[0]
        for cmd in commands(block):
            if which(cmd):
                cmd = rooted(cmd, self.root).replace(
                    "http://127.0.0.1/", f"http://127.0.0.1:{self.rig.port}/")
                r = run(["bash", "-c", cmd], env=dict(
                    self.env, SESSION=self.connected()))
                self.assertEqual(r.returncode, 0, cmd + r.stderr)
                return json.loads(r.stdout)
        self.fail("no such command in the README")

    def test_item_7_the_readmes_status_token_and_admin_commands(self):
        sid = self.connected()
        s = self.check_it(lambda c: "/status" in c and "-b" not in c)
        self.assertFalse(s["connected"])
        s = self.check_it(lambda c: "/status" in c and "-b" in c)
        self.assertTrue(s["connected"])
        t = self.check_it(lambda c: "/token" in c)
        self.assertEqual(t["access_token"],
                         self.rig.mock.tokens()["access_tokens"][-1])
        a = self.check_it(lambda c: "/admin" in c)
        name = self.rig.records()[0].name
        self.assertIn(name, [r["id"] for r in a["records"]])
        self.assertNotIn(sid, json.dumps(a))
        # Item 9: a fresh link's hour-long token is not "expiring".
        self.assertEqual(a["totals"]["expiring_within_hour"], 0)
        # Item 9: gc says what it did.
        r = self.cli("gc")
        self.assertRegex(r.stdout, r"^kept 1 link \(used in the last 90 "
                                   r"days\), removed 0; ")

    def log_path(self, server):
        """Where README.md says our log lines go under SERVER, rooted."""
        m = re.search(rf"under {server}, to `([^`]+)`",
                      sections()["Troubleshooting"])
        self.assertIsNotNone(m, f"the README says nothing for {server}")
        return Path(rooted(m.group(1), self.root))

    def readme_log_line(self, symptom):
        """The log line the Troubleshooting table gives for SYMPTOM."""
        for row in sections()["Troubleshooting"].splitlines():
            if row.startswith("| " + symptom):
                return re.findall(r"`([^`]+)`", row.split("|")[2])[0]
        self.fail(f"no row for {symptom}")

    def wrong_secret_is_logged(self, server, restart):
        """Item 4: a wrong client_secret, and its line where the README
        says (with its time, item 9)."""
        secret = self.etc / "client_secret"
        secret.write_text("a-wrong-secret\n")
        try:
            restart()
            b = self.rig.browser()
            r = self.rig.connect(b)
            self.assertEqual(r.status, 502, r.text)
        finally:
            secret.write_text(CLIENT_SECRET + "\n")
            restart()
        line = self.readme_log_line("Every connect fails at the last step")
        self.assertEqual(line, "error: callback: code exchange failed: "
                               "invalid_client (HTTP 401)")
        log = self.log_path(server)
        wait_for(lambda: log.exists() and line in log.read_text(), 10,
                 f"{line!r} in {log}")
        self.assertRegex(log.read_text(), r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:"
                         rf"\d\dZ insuresign-connect\[\d+\]: {re.escape(line)}$")
        self.assertNotIn("a-wrong-secret", log.read_text())


class ReadmeLighttpd(Readme, unittest.TestCase):
    """lighttpd as Debian runs it: its /etc/lighttpd and init script, in
    the scratch root, on this test's port and loopback only."""

    server = "Lighttpd"

    @classmethod
    def start_server(cls):
        root, port = cls.root, cls.rig.port
        shutil.copytree("/etc/lighttpd", root / "etc/lighttpd",
                        symlinks=True)
        conf = root / "etc/lighttpd/lighttpd.conf"
        text = rooted(conf.read_text(), root)
        text = re.sub(r"(?m)^server\.port\s*=.*$",
                      f'server.port = {port}\nserver.bind = "127.0.0.1"',
                      text)
        # Debian's file listens on [::] too: loopback only here.
        text = re.sub(r"(?m)^include_shell \"/usr/share/lighttpd/"
                      r"use-ipv6.pl.*$", "", text)
        conf.write_text(text)
        init = root / "etc/init.d/lighttpd"
        init.parent.mkdir(parents=True)
        text = rooted(Path("/etc/init.d/lighttpd").read_text(), root)
        text = text.replace("PIDFILE=/run/$NAME.pid",
                            f"PIDFILE={root}/run/$NAME.pid")
        init.write_text(text)
        init.chmod(0o755)
        (root / "run").mkdir(exist_ok=True)
        cls.stop_command = [str(init), "stop"]
        # The README's commands: the conf file into place, the restart.
        r = cls.run_block(sections()["Web server"], block=0)
        if r.returncode != 0:
            raise AssertionError("the README's lighttpd commands failed:\n" +
                                 r.stdout)
        cls.track(root / "run/lighttpd.pid", cls.stop_command)

    @classmethod
    def track(cls, pidfile, stop):
        wait_for(lambda: port_open(cls.rig.port), what="the server")
        cls.rig.procs.append(Daemon(pidfile, stop, cls.env))

    def restart(self):
        self.rig.procs.clear()
        r = run([str(self.root / "etc/init.d/lighttpd"), "restart"],
                env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                capture_output=False)
        self.assertEqual(r.returncode, 0)
        self.track(self.root / "run/lighttpd.pid", self.stop_command)

    def test_started_as_its_init_script_does(self):
        pid = self.rig.procs[0].pid
        # A daemon: stdin, stdout and stderr are /dev/null, and so are
        # they for the workers it starts, but for stderr: the breakage log.
        for fd in (0, 1):
            self.assertEqual(os.readlink(f"/proc/{pid}/fd/{fd}"), "/dev/null")
        self.connected()
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and
                   Path(f"/proc/{p}/stat").exists() and
                   Path(f"/proc/{p}/stat").read_text()
                   .rsplit(")", 1)[1].split()[1] == str(pid)]
        self.assertTrue(workers)
        for w in workers:
            self.assertEqual(os.readlink(f"/proc/{w}/fd/2"),
                             str(self.log_path("lighttpd")))

    def test_item_4_a_wrong_secret_is_logged_where_the_readme_says(self):
        self.wrong_secret_is_logged("lighttpd", self.restart)


class ReadmeApache(Readme, unittest.TestCase):
    """Apache as Debian runs it: a copy of its /etc/apache2, the shipped
    file through a2enconf, apache2ctl; on this test's port."""

    server = "Apache"

    @classmethod
    def start_server(cls):
        root, port = cls.root, cls.rig.port
        shutil.copytree("/etc/apache2", root / "etc/apache2", symlinks=True)
        for f in (root / "etc/apache2").rglob("*"):
            if f.is_file() and not f.is_symlink():
                text = rooted(f.read_text(errors="surrogateescape"), root)
                f.write_text(text, errors="surrogateescape")
        ports = root / "etc/apache2/ports.conf"
        ports.write_text(re.sub(r"(?m)^Listen 80$",
                                f"Listen 127.0.0.1:{port}",
                                ports.read_text()))
        site = root / "etc/apache2/sites-available/000-default.conf"
        site.write_text(site.read_text().replace("*:80", f"*:{port}"))
        # mod_fcgid's compiled-in paths are the system's.
        fcgid = root / "etc/apache2/mods-available/fcgid.conf"
        fcgid.write_text(fcgid.read_text() + (
            f"FcgidIPCDir {root}/run/mod_fcgid\n"
            f"FcgidProcessTableFile {root}/run/mod_fcgid/fcgid_shm\n"))
        # run/mod_fcgid: mod_fcgid makes it, for its user.
        for d in ("run", "var/log/apache2", "var/lib/apache2",
                  "var/lock", "var/run"):
            (root / d).mkdir(parents=True, exist_ok=True)
        cls.stop_command = ["apache2ctl", "stop"]
        r = cls.run_block(sections()["Web server"], block=1)
        if r.returncode != 0:
            raise AssertionError("the README's Apache commands failed:\n" +
                                 r.stdout)
        wait_for(lambda: port_open(port), what="apache2")
        cls.rig.procs.append(Daemon(root / "var/run/apache2/apache2.pid",
                                    cls.stop_command, cls.env))

    def restart(self):
        r = run(["apache2ctl", "graceful"], env=self.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, capture_output=False)
        self.assertEqual(r.returncode, 0)
        time.sleep(1)
        wait_for(lambda: port_open(self.rig.port), what="apache2")

    def test_a2enconf_enabled_the_shipped_file(self):
        link = self.root / "etc/apache2/conf-enabled/insuresign-connect.conf"
        self.assertTrue(link.is_symlink())
        self.assertEqual(
            (self.root / "etc/apache2/conf-available/insuresign-connect.conf")
            .read_text(),
            rooted((ROOT / "conf/apache-fcgid.conf").read_text(), self.root))

    def test_item_4_a_wrong_secret_is_logged_where_the_readme_says(self):
        self.wrong_secret_is_logged("Apache", self.restart)


if __name__ == "__main__":
    unittest.main()
