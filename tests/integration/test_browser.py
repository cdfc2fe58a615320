"""End to end in a real browser: headless Chromium, driven through
chromedriver's W3C WebDriver API, does what a person does: connects from the
sample account page (/account) with the mock InsureSign's consent page,
disconnects (there, and on the program's own Connect page), and deletes a
link from the admin page; and, with links that belong to the web app's
users ([identity] owner = backend, the sample web app demo/app.py), two
people share one browser and one of them uses a second.

Screenshots of every step go to tests/out/HeadlessChromium/screenshots/
(NN-step.png), chromedriver's log next to them.  Chromium talks to loopback
only: its background services are off and every host name but 127.0.0.1
fails to resolve.  Needs Debian's chromium and chromium-driver (make test
installs them); without them the test fails, it does not skip.
ISC_CHROMIUM and ISC_CHROMEDRIVER name other binaries.
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import time
import unittest

from rig import BACKEND_KEY, BASE, Rig, certs, free_port, port_open, \
    wait_for

CHROMIUM = os.environ.get("ISC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ISC_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN_KEY = "admin-key-browser-0123456789abcdefghijklmnopqrstuvwxyz"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"    # W3C's element key


class WebDriverError(Exception):
    def __init__(self, error, message):
        super().__init__(f"{error}: {message.splitlines()[0]}")
        self.error = error


class WebDriver:
    """Just enough of a W3C WebDriver client: chromedriver, one session."""

    def __init__(self, out, args):
        self.profile = out / "chromium-profile"
        self.profile.mkdir()
        self.port = free_port()
        self.session = None
        self.log = open(out / "chromedriver-stdout.log", "wb")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}",
             f"--log-path={out / 'chromedriver.log'}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: port_open(self.port) or
                     self.proc.poll() is not None, what="chromedriver")
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromedriver exited: see {self.log.name}")
            self.session = self.call("POST", "/session", {"capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:loggingPrefs": {"browser": "ALL"},
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": args + [f"--user-data-dir={self.profile}"],
                    }}}})["sessionId"]
        except BaseException:
            self.quit()
            raise

    def call(self, method, path, body=None):
        """One command; its value, or WebDriverError."""
        if self.session:
            path = f"/session/{self.session}{path}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body or {}) if method == "POST" else None
            conn.request(method, path, data,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            value = json.loads(r.read())["value"]
        finally:
            conn.close()
        if r.status != 200:
            raise WebDriverError(value["error"], value["message"])
        return value

    def get(self, url):
        self.call("POST", "/url", {"url": url})

    @property
    def url(self):
        return self.call("GET", "/url")

    def find_all(self, css):
        found = self.call("POST", "/elements",
                          {"using": "css selector", "value": css})
        return [e[ELEMENT] for e in found]

    def text(self, css):
        """The first match's rendered text, or None when there is none."""
        found = self.find_all(css)
        return self.call("GET", f"/element/{found[0]}/text") if found else None

    def shown(self, css):
        """Whether css matches an element that a person would see."""
        found = self.find_all(css)
        return bool(found) and self.call("GET",
                                         f"/element/{found[0]}/displayed")

    def click(self, css):
        found = self.find_all(css)
        if not found:
            raise WebDriverError("no such element", css)
        self.call("POST", f"/element/{found[0]}/click")

    def type(self, css, text):
        """Types TEXT into the first match, after clearing it."""
        found = self.find_all(css)
        if not found:
            raise WebDriverError("no such element", css)
        self.call("POST", f"/element/{found[0]}/clear")
        self.call("POST", f"/element/{found[0]}/value", {"text": text})

    def wait(self, css, pattern=".", timeout=10):
        """Polls until css matches an element whose text matches pattern;
        returns the text.  Pages change under us: a stale element or one
        not there yet is simply another try."""
        end = time.monotonic() + timeout
        text = None
        while time.monotonic() < end:
            try:
                text = self.text(css)
            except WebDriverError as e:
                if e.error != "stale element reference":
                    raise
            if text is not None and re.search(pattern, text):
                return text
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout} s for {css} ~ /{pattern}/ on "
                           f"{self.url}; its text: {text!r}")

    def screenshot(self, path):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def cdp(self, cmd, **params):
        """A Chrome DevTools Protocol command, through chromedriver."""
        return self.call("POST", "/goog/cdp/execute",
                         {"cmd": cmd, "params": params})

    def console(self):
        """Console entries since the last call (chromedriver's legacy log
        endpoint, enabled by goog:loggingPrefs)."""
        return self.call("POST", "/se/log", {"type": "browser"})

    def quit(self):
        """Ends the session (Chromium quits), then chromedriver; kills
        whatever of theirs is left (our processes only: those that run
        with our profile, and chromedriver's process group)."""
        try:
            if self.session:
                self.call("DELETE", "")
        except (OSError, WebDriverError):
            pass
        self.session = None
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        try:
            wait_for(lambda: not self.chromium_pids(), timeout=5)
        except TimeoutError:
            left = self.chromium_pids()
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            raise RuntimeError(f"Chromium did not quit: killed {left}")

    def chromium_pids(self):
        mine = f"--user-data-dir={self.profile}".encode()
        pids = []
        for d in os.scandir("/proc"):
            try:
                if d.name.isdigit() and mine in open(
                        f"{d.path}/cmdline", "rb").read().split(b"\0"):
                    pids.append(int(d.name))
            except OSError:
                pass
        return pids


def chromium_args(trust_cert):
    spki = subprocess.run(
        f"openssl x509 -in '{trust_cert}' -pubkey -noout | openssl pkey "
        "-pubin -outform der | openssl dgst -sha256 -binary | base64",
        shell=True, check=True, capture_output=True, text=True).stdout.strip()
    return [
        "--headless=new", "--no-sandbox", "--disable-gpu",
        "--window-size=1100,900", "--lang=en-US",
        # Loopback only: no background services, no QUIC, and no host
        # name resolves (127.0.0.1 is all the rig uses).
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        # The mock's certificate comes from a CA made at test time, and
        # Chromium has no flag to trust a CA (that takes NSS tools or a
        # system policy).  Instead of accepting every bad certificate
        # (acceptInsecureCerts), trust the mock's key alone: Chromium
        # honours this list when --user-data-dir is set.
        f"--ignore-certificate-errors-spki-list={spki}",
    ]


class HeadlessChromium(unittest.TestCase):
    """One rig, one browser session; each test starts logged out with an
    empty store."""

    shots = 0

    @classmethod
    def setUpClass(cls):
        missing = [p for p in (CHROMIUM, CHROMEDRIVER)
                   if not os.access(p, os.X_OK)]
        if missing:
            raise AssertionError(
                f"{' and '.join(missing)} not found: this test needs "
                "Debian's chromium and chromium-driver packages (make test "
                "installs them: Makefile DEB_TEST)")
        cls.rig = Rig(cls.__name__)
        # Class cleanups run even when setUpClass fails half way.
        cls.addClassCleanup(cls.rig.stop)
        cls.rig.settings["admin"] = {
            "key_file": cls.rig.secret_file("admin.key", ADMIN_KEY + "\n")}
        cls.rig.settings["insuresign"]["revocation_url"] = \
            cls.rig.mock.url + "/oauth2/revoke"
        cls.rig.write_config()
        cls.rig.restart_server()
        cls.shots_dir = cls.rig.out / "screenshots"
        cls.browser = WebDriver(cls.rig.out,
                                chromium_args(certs() / "server.pem"))
        cls.addClassCleanup(cls.browser.quit)
        cls.browser.cdp("Network.enable")

    def setUp(self):
        self.rig.mock.reset()               # auto_approve off: a real page
        for r in self.rig.records():
            r.unlink()
        self.browser.cdp("Network.clearBrowserCookies")
        self.browser.cdp("Network.setExtraHTTPHeaders", headers={})
        self.browser.console()              # drop earlier entries

    # -- helpers -------------------------------------------------------

    def shot(self, name):
        HeadlessChromium.shots += 1
        path = self.shots_dir / f"{self.shots:02d}-{name}.png"
        self.browser.screenshot(path)

    def wait(self, css, pattern=".", name="waiting"):
        """browser.wait, with a screenshot of what was there on time-out."""
        try:
            return self.browser.wait(css, pattern)
        except TimeoutError as e:
            self.shot(f"{name}-timed-out")
            raise AssertionError(str(e)) from None

    def account(self):
        return self.wait("#insuresign-state", r"^(?!Checking)", "account")

    def connect(self, start="#insuresign-connect"):
        """From a Connect link through the consent page, back to /account."""
        self.browser.click(start)
        self.wait("#approve", "Approve", "consent-page")
        self.assertTrue(self.browser.url.startswith(
            self.rig.mock.url + "/oauth2/authorize?"), self.browser.url)
        self.shot("insuresign-consent-page")
        self.browser.click("#approve")
        self.wait("#insuresign-state", "^Connected since", "connected")
        self.assertEqual(self.browser.url, self.rig.url("/account"))
        self.assertEqual(len(self.rig.records()), 1)

    def assert_clean_console(self):
        """No CSP violation and no error in the browser's console (but
        for the favicon that neither the sample site nor the mock has)."""
        bad = [e["message"] for e in self.browser.console()
               if "Content Security Policy" in e["message"] or
               e["level"] == "SEVERE" and "/favicon.ico " not in e["message"]]
        self.assertEqual(bad, [])

    # -- the stories ---------------------------------------------------

    def test_account_page_connect_and_disconnect(self):
        b = self.browser
        b.get(self.rig.url("/account"))
        self.assertEqual(self.account(), "Not connected.")
        self.assertEqual(b.text("#insuresign-connect"),
                         "Connect to InsureSign")
        self.assertFalse(b.shown("#insuresign-disconnect"))
        self.shot("account-not-connected")

        self.connect()
        self.assertEqual(b.text("#insuresign-notice"),
                         "Connected to InsureSign.")
        self.assertRegex(b.text("#insuresign-state"),
                         r"^Connected since .+ \(token valid until .+\)\.$")
        self.assertFalse(b.shown("#insuresign-connect"))
        self.assertTrue(b.shown("#insuresign-disconnect"))
        self.shot("account-connected")
        # The browser holds a session cookie, never a token.
        issued = self.rig.mock.tokens()
        seen = json.dumps(b.call("GET", "/cookie")) + b.call("GET", "/source")
        for secret in issued["access_tokens"] + issued["refresh_tokens"]:
            self.assertNotIn(secret, seen)

        b.click("#insuresign-disconnect")
        self.wait("#insuresign-state", "^Not connected.$", "disconnected")
        self.assertEqual(b.text("#insuresign-notice"),
                         "Disconnected from InsureSign.")
        self.assertTrue(b.shown("#insuresign-connect"))
        self.assertFalse(b.shown("#insuresign-disconnect"))
        self.shot("account-disconnected")
        self.assertEqual(self.rig.records(), [])
        self.assert_clean_console()

    def test_admin_page_deletes_a_link(self):
        b = self.browser
        b.get(self.rig.url("/account"))
        self.account()
        self.connect()
        name = self.rig.records()[0].name

        b.cdp("Network.setExtraHTTPHeaders",
              headers={"Authorization": "Bearer " + ADMIN_KEY})
        b.get(self.rig.url(BASE + "/admin"))
        self.wait("h1", "^InsureSign links$", "admin-list")
        self.assertEqual(len(b.find_all("tbody tr")), 1)
        self.assertEqual(b.text("tbody tr td:first-child"), name[:12])
        self.shot("admin-list")

        b.click(f'tbody a[href$="/admin/record?id={name}"]')
        self.wait("h1", f"^Link {name[:12]}$", "admin-record")
        self.assertIn(name, b.text("dl"))
        self.assertEqual(b.text('form[action$="/admin/delete"] button'),
                         "Revoke and delete")
        self.shot("admin-record")

        b.click('form[action$="/admin/delete"] button')
        self.wait(".notice", "^Deleted.$", "admin-deleted")
        self.assertTrue(b.url.endswith(BASE + "/admin?done=deleted"), b.url)
        self.assertEqual(b.find_all("tbody tr"), [])
        self.shot("admin-deleted")
        self.assertEqual(self.rig.records(), [])
        self.assertEqual(len(self.rig.mock.log(endpoint="revoke")), 1)
        self.assert_clean_console()

    def test_own_connect_page_disconnects(self):
        """The program's own Connect page, for sites with no page of
        their own: its Disconnect is a form that posts from a page with
        Referrer-Policy: no-referrer (so the browser sends Origin: null)."""
        b = self.browser
        b.get(self.rig.url(BASE + "/connect"))
        self.wait("main p", "^Not connected", "own-page")
        self.connect(start='a[href*="/connect/start"]')

        b.get(self.rig.url(BASE + "/connect"))
        self.wait(".status-connected", "^Connected since", "own-page")
        self.shot("own-page-connected")
        b.click('form[action$="/disconnect"] button')
        self.wait("#insuresign-state", "^Not connected.$", "own-disconnected")
        self.assertEqual(b.text("#insuresign-notice"),
                         "Disconnected from InsureSign.")
        self.assertEqual(self.rig.records(), [])
        self.assert_clean_console()


class SharedBrowser(unittest.TestCase):
    """[identity] owner = backend: the sample web app signs its users in
    with a form and out again, and its backend names them to the program.
    Alice connects and signs out; Bob signs in on the same browser, whose
    cookies (the program's too) stay, and is not connected; Alice, on a
    second browser profile, is."""

    USERS = {"alice": "alice-password", "bob": "bob-password"}

    @classmethod
    def setUpClass(cls):
        for p in (CHROMIUM, CHROMEDRIVER):
            if not os.access(p, os.X_OK):
                raise AssertionError(f"{p} not found: Debian's chromium "
                                     "and chromium-driver (Makefile DEB_TEST)")
        cls.rig = Rig(cls.__name__, backend_key=True, sample_app=cls.USERS,
                      ini={"identity": {"owner": "backend"}})
        cls.addClassCleanup(cls.rig.stop)
        cls.shots_dir = cls.rig.out / "screenshots"
        cls.shots = 0
        args = chromium_args(certs() / "server.pem")
        cls.browsers = []
        for name in ("first", "second"):
            (cls.rig.out / name).mkdir()
            cls.browsers.append(WebDriver(cls.rig.out / name, args))
            cls.addClassCleanup(cls.browsers[-1].quit)

    def shot(self, b, name):
        SharedBrowser.shots += 1
        b.screenshot(self.shots_dir / f"{self.shots:02d}-{name}.png")

    def wait(self, b, css, pattern=".", name="waiting"):
        try:
            return b.wait(css, pattern)
        except TimeoutError as e:
            self.shot(b, f"{name}-timed-out")
            raise AssertionError(str(e)) from None

    def sign_in(self, b, user):
        b.get(self.rig.url("/app/account"))
        self.wait(b, "h1", "^Sign in$", "sign-in-page")
        b.type("#name", user)
        b.type("#password", self.USERS[user])
        b.click("#sign-in")
        self.wait(b, "#user", f"^{user}$", "signed-in")
        return self.wait(b, "#insuresign-state", ".", "state")

    def test_one_browser_two_users_and_a_second_browser(self):
        first, second = self.browsers
        self.rig.mock.config(jwt=True)
        self.assertEqual(self.sign_in(first, "alice"), "Not connected.")
        self.shot(first, "alice-not-connected")
        first.click("#connect")
        self.wait(first, "#approve", "Approve", "consent-page")
        first.type("#account", "alice@insuresign.test")
        first.click("#approve")
        self.wait(first, "#notice", "^Connected to InsureSign.$", "back")
        since = self.wait(first, "#insuresign-state", "^Connected since ")
        self.assertEqual(first.url, self.rig.url(
            "/app/account?insuresign=connected"))
        self.shot(first, "alice-connected")
        first.click("#logout")
        self.wait(first, "h1", "^Sign in$", "signed-out")
        # Everything of the program's stays in this browser ...
        cookies = {c["name"] for c in first.call("GET", "/cookie")}
        self.assertIn("insuresign_session", cookies)
        self.assertNotIn("demo_session", cookies)

        # ... and Bob, signed in on it, is not connected.
        self.assertEqual(self.sign_in(first, "bob"), "Not connected.")
        self.assertTrue(first.shown("#connect"))
        self.shot(first, "bob-not-connected")
        r = self.rig.browser().request("GET", self.rig.url(BASE + "/token"),
                                       headers={
                                           "Authorization":
                                           "Bearer " + BACKEND_KEY,
                                           "X-InsureSign-User": "bob"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "not_connected")

        # Alice, on another browser: the same link.
        self.assertEqual(self.sign_in(second, "alice"), since)
        self.shot(second, "alice-second-browser")
        self.assertEqual(len(self.rig.records()), 1)
        self.assertEqual(self.rig.mock.stats()["code_requests"], 1)
        for b in (first, second):
            bad = [e["message"] for e in b.console()
                   if "Content Security Policy" in e["message"] or
                   e["level"] == "SEVERE" and
                   "/favicon.ico " not in e["message"]]
            self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main()
