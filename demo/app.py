#!/usr/bin/env python3
"""A sample web app whose backend links each of its users to their own
InsureSign account ([identity] owner = backend).  Standard library only.

    app.py --listen 127.0.0.1:8081 --users FILE --backend-key-file FILE
           --insuresign http://127.0.0.1:8080/insuresign [--prefix /app]

It signs its users in with a form (FILE: one "name:pbkdf2_sha256$rounds$
salt$hash" line each; `app.py hash PASSWORD` prints the part after the
colon) and keeps their sessions in memory.  The web server sends it every
path under --prefix, and insuresign-connect the paths under its base path,
so both share one origin.  All it does with InsureSign is the four calls of
the backend API, each with the backend key:

  Connect     POST   /connect-tickets  user=NAME&return_to=PREFIX/account
              then the browser goes to the one-time URL it answers
  the page    GET    /links/NAME       connected? since when?
  Disconnect  DELETE /links/NAME
  its work    GET    /token            X-InsureSign-User: NAME

The browser never names the user to insuresign-connect: the backend does,
for the user it signed in.  Signing out is the app's business alone: the
link stays the user's, and the next user on this browser sees their own.
"""

import argparse
import hashlib
import hmac
import html
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOTICES = {
    "connected": "Connected to InsureSign.",
    "already-connected": "Your InsureSign account was already connected.",
    "denied": "You did not allow the connection at InsureSign.",
    "error": "InsureSign could not be connected. Please try again.",
    "disconnected": "Disconnected from InsureSign.",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}/style.css"></head>
<body><main><div class="card">
{body}
</div></main></body></html>
"""


def hash_password(password, rounds=200000):
    salt = secrets.token_hex(16)
    h = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(),
                            rounds)
    return f"pbkdf2_sha256${rounds}${salt}${h.hex()}"


def password_ok(stored, password):
    try:
        kind, rounds, salt, want = stored.split("$")
    except ValueError:
        return False
    h = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(),
                            int(rounds))
    return kind == "pbkdf2_sha256" and hmac.compare_digest(h.hex(), want)


class InsureSign:
    """The backend API of insuresign-connect, with the backend key."""

    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, form=None, user=None):
        """(status, JSON object or None)."""
        headers = {"Authorization": "Bearer " + self.key}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if user is not None:
            # Its UTF-8 bytes on the wire (http.client sends latin-1).
            headers["X-InsureSign-User"] = user.encode().decode("latin-1")
        req = urllib.request.Request(self.base + path, data=data,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        return status, json.loads(body) if body else None

    def link(self, user):
        return self.call("GET", "/links/" + urllib.parse.quote(user, ""))


class App(BaseHTTPRequestHandler):
    # Set by main: the sign-in file's users, the sessions, the API.
    users, sessions, insuresign, prefix = {}, {}, None, "/app"

    def log_message(self, fmt, *args):
        pass

    # -- sessions: an id in a cookie, the user name in memory ----------

    def session(self):
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "demo_session" and value in self.sessions:
                return value, self.sessions[value]
        return None, None

    def csrf(self, sid):
        return hmac.new(self.server.secret, sid.encode(),
                        hashlib.sha256).hexdigest()

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        return dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))

    # -- replies --------------------------------------------------------

    def send(self, status, body="", headers=()):
        data = body.encode()
        self.send_response(status)
        for k, v in [("Content-Type", "text/html; charset=utf-8"),
                     ("Content-Length", str(len(data))),
                     ("Cache-Control", "no-store"),
                     ("Content-Security-Policy", "default-src 'self'"),
                     *headers]:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, where, headers=()):
        self.send(303, headers=[("Location", where), *headers])

    def page(self, title, body):
        self.send(200, PAGE.format(title=html.escape(title), body=body,
                                   base=self.insuresign.base_path))

    # -- routes ---------------------------------------------------------

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == self.prefix + "/login":
            return self.login_page()
        if url.path == self.prefix + "/account":
            return self.account(urllib.parse.parse_qs(url.query))
        self.redirect(self.prefix + "/account")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        form = self.form()
        if path == self.prefix + "/login":
            return self.login(form)
        sid, user = self.session()
        if user is None or not hmac.compare_digest(
                form.get("csrf", ""), self.csrf(sid)):
            return self.redirect(self.prefix + "/login")
        actions = {"/logout": self.logout, "/connect": self.connect,
                   "/disconnect": self.disconnect,
                   "/use-token": self.use_token}
        action = actions.get(path[len(self.prefix):])
        if action is None:
            return self.send(404, "Not found")
        action(sid, user)

    def login_page(self, failed=False):
        self.page("Sign in", (
            "<h1>Sign in</h1>\n" +
            ('<p class="notice" id="failed">Wrong name or password.</p>\n'
             if failed else "") +
            f'<form method="post" action="{self.prefix}/login">\n'
            '<p><label>Name <input id="name" name="name" '
            'autocomplete="username"></label></p>\n'
            '<p><label>Password <input id="password" name="password" '
            'type="password" autocomplete="current-password"></label></p>\n'
            '<p><button id="sign-in" type="submit">Sign in</button></p>\n'
            "</form>"))

    def login(self, form):
        name = form.get("name", "")
        if not password_ok(self.users.get(name, "x$1$x$x"),
                           form.get("password", "")):
            return self.login_page(failed=True)
        # A new session id at every sign-in, as web apps do: in backend
        # mode the link does not care, it belongs to the user.
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = name
        self.redirect(self.prefix + "/account", [(
            "Set-Cookie", f"demo_session={sid}; Path={self.prefix}; "
            "HttpOnly; SameSite=Lax")])

    def logout(self, sid, user):
        self.sessions.pop(sid, None)
        self.redirect(self.prefix + "/login", [(
            "Set-Cookie", f"demo_session=; Path={self.prefix}; Max-Age=0")])

    def button(self, sid, action, label, ident, cls=""):
        return (f'<form class="inline" method="post" '
                f'action="{self.prefix}/{action}">'
                f'<input type="hidden" name="csrf" value="{self.csrf(sid)}">'
                f'<button id="{ident}" class="{cls}" type="submit">{label}'
                "</button></form>\n")

    def account(self, query, said=""):
        sid, user = self.session()
        if user is None:
            return self.redirect(self.prefix + "/login")
        status, link = self.insuresign.link(user)
        if status == 200 and link["connected"]:
            state = f"Connected since {link['since']}."
            buttons = (self.button(sid, "use-token", "Use the token",
                                   "use-token") +
                       self.button(sid, "disconnect", "Disconnect",
                                   "disconnect", "secondary"))
        elif status in (200, 404):
            state = ("Needs reconnecting: InsureSign no longer accepts the "
                     "link." if status == 200 else "Not connected.")
            buttons = self.button(sid, "connect", "Connect to InsureSign",
                                  "connect")
        else:
            state, buttons = "InsureSign status is unavailable now.", ""
        notice = NOTICES.get(query.get("insuresign", [""])[0], said)
        self.page("Your account", (
            f'<h1>Your account</h1>\n<p>Signed in as <strong id="user">'
            f"{html.escape(user)}</strong>. "
            f'{self.button(sid, "logout", "Sign out", "logout", "secondary")}'
            "</p>\n<h2>InsureSign</h2>\n" +
            (f'<p class="notice" id="notice">{html.escape(notice)}</p>\n'
             if notice else "") +
            f'<p id="insuresign-state">{html.escape(state)}</p>\n'
            f"<p>{buttons}</p>"))

    def connect(self, sid, user):
        status, ticket = self.insuresign.call(
            "POST", "/connect-tickets",
            form={"user": user, "return_to": self.prefix + "/account"})
        if status != 201:
            return self.account({}, "InsureSign could not be connected.")
        self.redirect(ticket["url"])

    def disconnect(self, sid, user):
        status, _ = self.insuresign.call(
            "DELETE", "/links/" + urllib.parse.quote(user, ""))
        self.redirect(self.prefix + "/account?insuresign=" + (
            "disconnected" if status == 204 else "error"))

    def use_token(self, sid, user):
        # Where the app's own work would call InsureSign's API with it.
        status, token = self.insuresign.call("GET", "/token", user=user)
        self.account({}, f"Got an access token, valid until "
                     f"{token['expires_at']}." if status == 200 else
                     f"No token: {token['error'] if token else status}.")


def main():
    if sys.argv[1:2] == ["hash"]:
        print(hash_password(sys.argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:8081")
    ap.add_argument("--users", required=True)
    ap.add_argument("--backend-key-file", required=True)
    ap.add_argument("--insuresign", required=True,
                    help="the program's base URL, as the backend reaches it")
    ap.add_argument("--prefix", default="/app")
    args = ap.parse_args()
    with open(args.users) as f:
        App.users = dict(line.rstrip("\n").split(":", 1) for line in f
                         if ":" in line)
    with open(args.backend_key_file) as f:
        App.insuresign = InsureSign(args.insuresign.rstrip("/"),
                                    f.read().strip())
    App.insuresign.base_path = urllib.parse.urlsplit(args.insuresign).path
    App.prefix = args.prefix
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), App)
    server.secret = secrets.token_bytes(32)
    print(f"listening on http://{host}:{server.server_address[1]}",
          flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
