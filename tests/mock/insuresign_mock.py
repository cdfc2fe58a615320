#!/usr/bin/env python3
"""Mock InsureSign OAuth 2.0 authorization server for the test rig.

    insuresign_mock.py --listen 127.0.0.1:0 [--cert CERT.pem --key KEY.pem]
        --client-id ID --client-secret SECRET --redirect-uri URI
        [--redirect-uri URI2 ...] [--issuer URL] [--port-file FILE] [--verbose]

Port 0 picks a free port.  Once listening, the port is written to --port-file
(temp file + rename) and "listening on https://127.0.0.1:PORT" (http:// without
--cert) is printed on stdout.  SIGTERM/SIGINT: exit 0.  HTTP/1.1 keep-alive;
every reply has a Content-Length.  Standard library only.

OAuth endpoints (InsureSign's API, RFC 6749, RFC 7636, RFC 7009, RFC 9207):
  GET  /oauth2/authorize  consent page: buttons #approve and #deny in a form
                          that POSTs to /oauth2/authorize.  Unknown client_id
                          or unregistered redirect_uri (exact match): 400 page.
  POST /oauth2/token      client auth: HTTP Basic, both halves form-urlencoded
                          (RFC 6749 2.3.1), else 401 invalid_client.
                          Codes: 60 s, single use; reusing one revokes its
                          tokens.  PKCE: S256 only.  A refresh reply has no
                          refresh_token unless rotate_refresh is on; a
                          rotated (used) refresh token presented again
                          revokes the grant.
  POST /oauth2/revoke     RFC 7009, same client auth; revokes the token's
                          whole grant; 200 with an empty body, known or not.

Control API (JSON, no auth):
  GET  /_mock/config   the switches;  POST: merge a JSON object (null deletes)
  POST /_mock/reset    clear switches, log, stats, codes and grants
                       ({"keep_grants": true}: all but codes and grants)
  GET  /_mock/log      token and revoke requests, oldest first:
                       {endpoint, grant_type, params, client_ok, authorization,
                       status, time}; filters ?endpoint=..&grant_type=..
                       status is 0 for a hung request (and while one is still
                       being answered); a reset or trickled reply logs the
                       status in the status line that was (being) sent.
  GET  /_mock/stats    connections: TCP connections that carried a request
                       outside /_mock/ (counted again after a reset if reused);
                       tcp_connections: all accepted, control API included;
                       tls_failures: failed TLS handshakes; authorize_requests
                       (GET); token_requests (all grants) of which
                       code_requests and refresh_requests; revoke_requests.
  GET  /_mock/tokens   {codes, access_tokens, refresh_tokens}: every secret
                       ever issued, kept across resets (for leak checks).
  POST /_mock/expire   {"code": C} or {"refresh_token": R}: expire it now.

Switches (POST /_mock/config; unknown names and wrong types are rejected):
  auto_approve  bool    authorize: skip the consent page, approve at once
  account       str     authorize: the InsureSign account approving when
                        auto_approve skips the page (default
                        "account-N@insuresign.test", N the grant's number);
                        the consent page asks for it (#account)
  jwt           bool    access tokens are JWT-shaped (RFC 7519): header
                        {alg: RS256, typ: JWT, kid}, claims {iss, sub, aud,
                        scope, iat, exp, account_id, email}, and a random
                        signature part (nothing can verify it); off: opaque
                        "at_..." tokens
  iss           str     authorize: iss added to the redirect (overrides
                        --issuer; "" sends none)
  rotate_refresh bool   refresh replies carry a new refresh token
  fault_grant   str     "any" (default: token endpoint, every grant),
                        "authorization_code", "refresh_token", or "revoke"
                        (the revoke endpoint, which "any" leaves alone)
  fault_count   int     apply the fault switches below to the next N matching
                        requests only (absent: always)
Fault switches, applied to requests that fault_grant/fault_count select.
These replace the reply and do NOT consume the code or issue tokens:
  status        int     answer {"error":..,"error_description":..} with this
                        status; error defaults to invalid_client for 401,
                        temporarily_unavailable for 503, server_error for
                        other 5xx, invalid_request otherwise
  error         str     that error; status defaults to 400 (401 for
                        invalid_client, which also gets WWW-Authenticate)
  error_description str the description in such bodies (default "mock fault")
  body          str     send exactly this body, with content_type (default
                        application/json) and status (default 200)
  invalid_json  bool    200 with a truncated, non-JSON body
  redirect      str     302 to this Location, empty body
  hang          bool    never answer; the connection stays open until the
                        client closes it or sends anything, or the mock stops
  reset         bool    send the status line and part of the headers, then
                        RST the connection (SO_LINGER 0)
These change a normal reply (the code is consumed, tokens are real):
  expires_in    any     the expires_in member (default 3600)
  token_type    str     the token_type member (default "Bearer")
  access_token  any     the access_token member's value (JSON null: members)
  members       object  members set verbatim in the success reply (null kept)
  omit          list    member names left out of the success reply
  pad           int     add "padding":"xxx.." of this many bytes (streamed)
  delay         number  sleep this many seconds before answering
  trickle       bool    send the whole reply, headers too, 1 byte per second
  unsized       bool    no Content-Length: the body ends when the connection
                        closes (RFC 9112 section 6.3, item 8)
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import html
import http
import itertools
import json
import os
import re
import secrets
import select
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

CODE_LIFE = 60.0
MAX_BODY = 1 << 20
PAD_CHUNK = b"x" * 65536
# RFC 7636 4.1 (verifier) and 4.2 (an S256 challenge is 43 base64url chars).
VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
AUTHZ_KEYS = ("response_type", "client_id", "redirect_uri", "state", "scope",
              "code_challenge", "code_challenge_method")
SWITCHES = {
    "auto_approve": bool, "account": str, "jwt": bool, "iss": str,
    "rotate_refresh": bool,
    "fault_grant": str, "fault_count": int,
    "status": int, "error": str, "error_description": str, "body": str,
    "content_type": str, "invalid_json": bool, "redirect": str,
    "hang": bool, "reset": bool,
    "expires_in": object, "token_type": str, "access_token": object,
    "members": dict, "omit": list, "pad": int, "delay": (int, float),
    "trickle": bool, "unsized": bool,
}
FAULT_KEYS = set(SWITCHES) - {"auto_approve", "account", "jwt", "iss",
                              "rotate_refresh", "fault_grant", "fault_count"}
FAULT_GRANTS = ("any", "authorization_code", "refresh_token", "revoke")
STAT_KEYS = ("connections", "tcp_connections", "tls_failures",
             "authorize_requests", "token_requests", "code_requests",
             "refresh_requests", "revoke_requests")
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


class BadRequest(Exception):
    """A malformed request, answered with 400 and this message."""


class OAuthError(Exception):
    """An OAuth error reply (RFC 6749 5.2)."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error, self.status = error, status


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def parse_params(text):
    """Form or query parameters; RFC 6749 3.1 and 3.2 forbid repeating one."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("malformed parameters: %s" % e) from None
    params = {}
    for key, value in pairs:
        if key in params:
            raise BadRequest("repeated parameter: " + key)
        params[key] = value
    return params


def add_query(uri, params):
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def jbytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def padded(reply, size):
    """The reply with a padding member, as chunks (no big string built)."""
    text = jbytes(reply)
    head = text[:-1] + (b"," if reply else b"") + b'"padding":"'

    def chunks():
        yield head
        for done in range(0, size, len(PAD_CHUNK)):
            yield PAD_CHUNK[:min(len(PAD_CHUNK), size - done)]
        yield b'"}'
    return chunks(), len(head) + size + 2


class State:
    """Everything the mock remembers.  Callers hold self.lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.client_id, self.client_secret = args.client_id, args.client_secret
        self.redirect_uris = set(args.redirect_uri)
        self.issuer = args.issuer
        self.issued = {"codes": [], "access_tokens": [], "refresh_tokens": []}
        self.grant_ids = itertools.count(1)
        self.generation = 0
        self.reset()

    def reset(self, keep_grants=False):
        self.config, self.log = {}, []
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        if not keep_grants:
            self.codes, self.grants = {}, {}
            self.access, self.refresh = {}, {}
        self.generation += 1

    def current_issuer(self):
        return self.config.get("iss", self.issuer) or None

    def pick_faults(self, endpoint, grant_type):
        """The fault switches that apply to this request (counts it)."""
        faults = {k: v for k, v in self.config.items() if k in FAULT_KEYS}
        target = self.config.get("fault_grant", "any")
        if endpoint == "revoke":
            match = target == "revoke"
        else:
            match = target in ("any", grant_type)
        if not faults or not match:
            return {}
        if "fault_count" in self.config:
            if self.config["fault_count"] <= 0:
                return {}
            self.config["fault_count"] -= 1
        return faults

    def new_code(self, p, account=None):
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "account": account or self.config.get("account"),
            "redirect_uri": p["redirect_uri"], "scope": p.get("scope"),
            "challenge": p.get("code_challenge"), "born": time.monotonic(),
            "used": False, "expired": False, "grant": None}
        self.issued["codes"].append(code)
        return code

    def _jwt(self, grant):
        """A JWT-shaped access token (RFC 7519) for the grant's account:
        what InsureSign's tokens look like, signed by nobody."""
        def part(obj):
            return base64.urlsafe_b64encode(jbytes(obj)).rstrip(b"=").decode()
        now = int(time.time())
        g = self.grants[grant]
        claims = {"iss": self.issuer or "https://sign-auth.insuresign.io",
                  "sub": "acct_%d" % grant, "aud": self.client_id,
                  "scope": g["scope"] or "documents", "iat": now,
                  "exp": now + 3600, "account_id": 1000 + grant,
                  "email": g["account"]}
        signature = base64.urlsafe_b64encode(secrets.token_bytes(256))
        return ".".join([part({"alg": "RS256", "typ": "JWT",
                               "kid": "mock-1"}), part(claims),
                         signature.rstrip(b"=").decode()])

    def _token(self, kind, grant):
        if kind == "access":
            token = (self._jwt(grant) if self.config.get("jwt")
                     else "at_" + secrets.token_urlsafe(24))
            self.access[token] = grant
        else:
            token = "rt_" + secrets.token_urlsafe(24)
            self.refresh[token] = {"grant": grant, "used": False,
                                   "expired": False}
        self.issued[kind + "_tokens"].append(token)
        return token

    def _reply(self, grant, with_refresh):
        reply = {"access_token": self._token("access", grant)}
        if with_refresh:
            reply["refresh_token"] = self._token("refresh", grant)
        reply["expires_in"] = 3600
        reply["token_type"] = "Bearer"
        if self.grants[grant]["scope"]:
            reply["scope"] = self.grants[grant]["scope"]
        return reply

    def revoke_grant(self, grant):
        if grant is not None:
            self.grants[grant]["revoked"] = True

    def _check_client_param(self, p):
        if p.get("client_id", self.client_id) != self.client_id:
            raise OAuthError("invalid_grant", "client_id is not the "
                             "authenticated client")

    def exchange(self, p):
        """grant_type=authorization_code (RFC 6749 4.1.3, RFC 7636 4.6)."""
        self._check_client_param(p)
        code = self.codes.get(p.get("code"))
        if code is None:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if code["used"]:
            # RFC 6749 4.1.2: a reused code should revoke its tokens.
            self.revoke_grant(code["grant"])
            raise OAuthError("invalid_grant", "authorization code reused; "
                             "its tokens are revoked")
        if code["expired"] or time.monotonic() - code["born"] >= CODE_LIFE:
            raise OAuthError("invalid_grant", "authorization code expired")
        if p.get("redirect_uri") != code["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the "
                             "authorization request")
        if code["challenge"] is not None:
            verifier = p.get("code_verifier")
            if verifier is None:
                raise OAuthError("invalid_grant", "code_verifier missing")
            if not (VERIFIER_RE.fullmatch(verifier) and hmac.compare_digest(
                    s256(verifier), code["challenge"])):
                raise OAuthError("invalid_grant", "PKCE verification failed")
        grant = next(self.grant_ids)
        self.grants[grant] = {
            "scope": code["scope"], "revoked": False,
            "account": code["account"] or
            "account-%d@insuresign.test" % grant}
        code["used"], code["grant"] = True, grant
        return self._reply(grant, True)

    def refresh_grant(self, p):
        """grant_type=refresh_token (RFC 6749 6)."""
        self._check_client_param(p)
        token = self.refresh.get(p.get("refresh_token"))
        if token is None:
            raise OAuthError("invalid_grant", "unknown refresh token")
        if token["used"]:
            # Reuse detection (OAuth 2.0 Security BCP 4.14.2).
            self.revoke_grant(token["grant"])
            raise OAuthError("invalid_grant", "refresh token reused; the "
                             "grant is revoked")
        if self.grants[token["grant"]]["revoked"]:
            raise OAuthError("invalid_grant", "refresh token revoked")
        if token["expired"]:
            raise OAuthError("invalid_grant", "refresh token expired")
        rotate = bool(self.config.get("rotate_refresh"))
        token["used"] = rotate
        return self._reply(token["grant"], rotate)

    def revoke_token(self, token):
        grant = self.access.get(token)
        if grant is None and token in self.refresh:
            grant = self.refresh[token]["grant"]
        self.revoke_grant(grant)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300   # idle keep-alive connections
    # send() writes the head and the body apart: with Nagle's algorithm
    # the body then waits for the client's delayed ACK, some 40 ms on a
    # reused connection, and every token request looked that slow.
    disable_nagle_algorithm = True
    routes = {
        ("GET", "/oauth2/authorize"): "authorize_get",
        ("POST", "/oauth2/authorize"): "authorize_post",
        ("POST", "/oauth2/token"): "token",
        ("POST", "/oauth2/revoke"): "revoke",
        ("GET", "/_mock/config"): "config_get",
        ("POST", "/_mock/config"): "config_post",
        ("POST", "/_mock/reset"): "reset",
        ("GET", "/_mock/log"): "log",
        ("GET", "/_mock/stats"): "stats",
        ("GET", "/_mock/tokens"): "tokens",
        ("POST", "/_mock/expire"): "expire",
    }

    def setup(self):
        self.st = self.server.state
        self.generation = None
        if isinstance(self.request, ssl.SSLSocket):
            # The handshake runs here, in this connection's thread, so a
            # client that never finishes it cannot stall the accept loop.
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (OSError, ValueError):
                with self.st.lock:
                    self.st.stats["tls_failures"] += 1
                raise
        super().setup()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        self.sent = False
        url = urlsplit(self.path)
        if not url.path.startswith("/_mock/"):
            with self.st.lock:
                if self.generation != self.st.generation:
                    self.generation = self.st.generation
                    self.st.stats["connections"] += 1
        name = self.routes.get((method, url.path))
        try:
            if name is not None:
                getattr(self, "r_" + name)(url)
            elif any(path == url.path for _, path in self.routes):
                self.close_connection = True    # a body may be unread
                self.send_json(405, {"error": "method not allowed"})
            else:
                self.close_connection = True
                self.send_json(404, {"error": "not found"})
        except BadRequest as e:
            self.close_connection = True
            if url.path == "/oauth2/authorize":
                self.send_page(400, "Bad request", str(e))
            else:
                self.send_json(400, {"error": "invalid_request",
                                     "error_description": str(e)})
        except OSError:
            self.close_connection = True
            raise
        except Exception:   # a bug in the mock: say so, keep serving
            traceback.print_exc()
            self.close_connection = True
            if not self.sent:
                self.send_json(500, {"error": "mock bug, see its stderr"})

    # --- replies ---------------------------------------------------------

    def send(self, status, body=b"", ctype=None, headers=(), length=None,
             mode=None):
        """Send a whole reply.  body: bytes, or chunks with their length."""
        chunks = [body] if isinstance(body, bytes) else body
        if length is None:
            length = len(body)
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        if mode == "unsized":
            self.close_connection = True
        else:
            lines.append("Content-Length: %d" % length)
        if ctype:
            lines.append("Content-Type: " + ctype)
        lines += ["%s: %s" % h for h in headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        self.sent = True
        self.log_message('"%s" %d', self.requestline, status)
        if mode == "reset":
            self.wfile.write(head[:head.index(b"\r\n") + 12])
            time.sleep(0.2)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            os.close(self.connection.detach())  # linger 0: close sends RST
            self.close_connection = True
        elif mode == "trickle":
            for chunk in itertools.chain([head], chunks):
                for i in range(len(chunk)):
                    if self.server.stopping.is_set():
                        return
                    self.wfile.write(chunk[i:i + 1])
                    time.sleep(1)
        else:
            for chunk in itertools.chain([head], chunks):
                self.wfile.write(chunk)

    def send_json(self, status, obj, headers=()):
        self.send(status, jbytes(obj), "application/json",
                  list(headers) + NO_STORE)

    def send_page(self, status, title, message):
        body = '<p id="error">%s</p>' % html.escape(message)
        self.send_html(status, title, body)

    def send_html(self, status, title, body):
        page = PAGE.format(title=html.escape(title), body=body)
        self.send(status, page.encode(), "text/html; charset=utf-8",
                  NO_STORE + [("X-Frame-Options", "DENY")])

    def hang(self):
        """Answer nothing until the client closes (or talks) or we stop."""
        while not self.server.stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.5)
            if readable:
                break
        self.close_connection = True

    # --- request bodies --------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise BadRequest("chunked request bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise BadRequest("bad Content-Length")
        data = self.rfile.read(length)
        if len(data) != length:
            raise ConnectionAbortedError("client closed mid-body")
        return data

    def read_form(self):
        data = self.read_body()   # read first: keep the connection in step
        ctype = self.headers.get("Content-Type", "").split(";")[0]
        if ctype.strip().lower() != "application/x-www-form-urlencoded":
            raise BadRequest("Content-Type must be "
                             "application/x-www-form-urlencoded")
        try:
            return parse_params(data.decode("ascii"))
        except UnicodeDecodeError:
            raise BadRequest("non-ASCII bytes in form body") from None

    def read_json(self):
        data = self.read_body() or b"{}"
        try:
            obj = json.loads(data)
        except ValueError as e:
            raise BadRequest("bad JSON: %s" % e) from None
        if not isinstance(obj, dict):
            raise BadRequest("expected a JSON object")
        return obj

    def client_ok(self):
        """HTTP Basic client authentication (RFC 6749 2.3.1)."""
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            raw = base64.b64decode(cred.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, colon, password = raw.partition(":")
        ok_user = hmac.compare_digest(unquote_plus(user).encode(),
                                      self.st.client_id.encode())
        ok_pass = hmac.compare_digest(unquote_plus(password).encode(),
                                      self.st.client_secret.encode())
        return bool(colon) and ok_user and ok_pass

    # --- authorization endpoint (RFC 6749 4.1.1, 4.1.2) ------------------

    def r_authorize_get(self, url):
        with self.st.lock:
            self.st.stats["authorize_requests"] += 1
        self.authorize(parse_params(url.query), None)

    def r_authorize_post(self, url):
        params = self.read_form()
        self.authorize(params, params.get("decision"))

    def authorize(self, p, decision):
        st = self.st
        if p.get("client_id") != st.client_id:
            return self.send_page(400, "Invalid request", "Unknown client_id.")
        if p.get("redirect_uri") not in st.redirect_uris:
            # 4.1.2.1: never redirect to an unregistered redirect_uri.
            return self.send_page(400, "Invalid request",
                                  "redirect_uri is not registered.")
        method = p.get("code_challenge_method")
        if p.get("response_type") != "code":
            return self.to_client(p, error="unsupported_response_type"
                                  if p.get("response_type")
                                  else "invalid_request")
        if "code_challenge" in p or method is not None:
            if method != "S256":
                return self.to_client(p, error="invalid_request",
                                      error_description="transform algorithm "
                                      "not supported")
            if not CHALLENGE_RE.fullmatch(p.get("code_challenge", "")):
                return self.to_client(p, error="invalid_request",
                                      error_description="bad code_challenge")
        with st.lock:
            if st.config.get("auto_approve") and decision is None:
                decision = "approve"
            code = (st.new_code(p, p.get("account"))
                    if decision == "approve" else None)
        if code is not None:
            return self.to_client(p, code=code)
        if decision == "deny":
            return self.to_client(p, error="access_denied",
                                  error_description="The user denied the "
                                  "request")
        if decision is not None:
            raise BadRequest("decision must be approve or deny")
        esc = html.escape
        hidden = "".join('<input type="hidden" name="%s" value="%s">\n'
                         % (k, esc(p[k])) for k in AUTHZ_KEYS if k in p)
        scope = ('<p>Scope: <code id="scope">%s</code></p>\n'
                 % esc(p["scope"]) if p.get("scope") else "")
        body = ('<p>The application <b id="client-id">%s</b> wants to use '
                'your InsureSign account.</p>\n<p>You will be sent back to '
                '<code id="redirect-uri">%s</code>.</p>\n%s'
                '<form method="post" action="/oauth2/authorize">\n%s'
                '<p><label>Your InsureSign account <input name="account" '
                'id="account" value="signer@example.com"></label></p>\n'
                '<button type="submit" name="decision" value="approve" '
                'id="approve">Approve</button>\n'
                '<button type="submit" name="decision" value="deny" '
                'id="deny">Deny</button>\n</form>'
                % (esc(p["client_id"]), esc(p["redirect_uri"]), scope, hidden))
        self.send_html(200, "Authorize %s?" % p["client_id"], body)

    def to_client(self, p, **query):
        """302 back to the client with code or error, state and iss."""
        if "state" in p:
            query["state"] = p["state"]
        with self.st.lock:
            iss = self.st.current_issuer()
        if iss:
            query["iss"] = iss   # RFC 9207
        self.send(302, headers=[("Location", add_query(p["redirect_uri"],
                                                       query))] + NO_STORE)

    # --- token and revocation endpoints ----------------------------------

    def r_token(self, url):
        self.oauth_endpoint("token")

    def r_revoke(self, url):
        self.oauth_endpoint("revoke")

    def oauth_endpoint(self, endpoint):
        st = self.st
        entry = {"endpoint": endpoint, "grant_type": None, "params": {},
                 "client_ok": False,
                 "authorization": self.headers.get("Authorization"),
                 "status": 0, "time": time.time()}
        with st.lock:
            st.log.append(entry)
            st.stats[endpoint + "_requests"] += 1
        try:
            params = self.read_form()
        except BadRequest:
            with st.lock:
                entry["status"] = 400
            raise
        grant_type = params.get("grant_type") if endpoint == "token" else None
        with st.lock:
            entry.update(params=params, grant_type=grant_type,
                         client_ok=self.client_ok())
            if grant_type == "authorization_code":
                st.stats["code_requests"] += 1
            elif grant_type == "refresh_token":
                st.stats["refresh_requests"] += 1
            faults = st.pick_faults(endpoint, grant_type)
        if faults.get("delay"):
            time.sleep(max(0.0, float(faults["delay"])))
        if faults.get("hang"):
            return self.hang()
        status, body, ctype, headers, length = self.oauth_reply(
            endpoint, params, entry["client_ok"], faults)
        with st.lock:
            entry["status"] = status
        mode = ("reset" if faults.get("reset")
                else "trickle" if faults.get("trickle")
                else "unsized" if faults.get("unsized") else None)
        self.send(status, body, ctype, headers + NO_STORE, length, mode)

    def oauth_reply(self, endpoint, params, client_ok, f):
        """(status, body, content type, headers, length) for this request."""
        jtype = "application/json"
        if "redirect" in f:
            return 302, b"", None, [("Location", f["redirect"])], None
        if "body" in f:
            return (f.get("status", 200), f["body"].encode(),
                    f.get("content_type", jtype), [], None)
        if f.get("invalid_json"):
            return 200, b'{"access_token":"at_trunc', jtype, [], None
        if "status" in f or "error" in f:
            status = f.get("status")
            error = f.get("error") or (
                "invalid_client" if status == 401 else
                "temporarily_unavailable" if status == 503 else
                "server_error" if status and status >= 500 else
                "invalid_request")
            if status is None:
                status = 401 if error == "invalid_client" else 400
            return self.oauth_error(OAuthError(
                error, f.get("error_description", "mock fault"), status))
        if not client_ok:
            return self.oauth_error(OAuthError(
                "invalid_client", "client authentication failed", 401))
        if endpoint == "revoke":
            if "token" not in params:
                return self.oauth_error(OAuthError(
                    "invalid_request", "token is missing"))
            with self.st.lock:
                self.st.revoke_token(params["token"])
            return 200, b"", None, [], None
        try:
            with self.st.lock:
                grant_type = params.get("grant_type")
                if grant_type == "authorization_code":
                    reply = self.st.exchange(params)
                elif grant_type == "refresh_token":
                    reply = self.st.refresh_grant(params)
                elif grant_type is None:
                    raise OAuthError("invalid_request", "grant_type missing")
                else:
                    raise OAuthError("unsupported_grant_type", grant_type)
        except OAuthError as e:
            return self.oauth_error(e)
        for key in ("expires_in", "token_type", "access_token"):
            if key in f:
                reply[key] = f[key]
        reply.update(f.get("members", {}))
        for key in f.get("omit", []):
            reply.pop(key, None)
        if f.get("pad", 0) > 0:
            chunks, length = padded(reply, f["pad"])
            return 200, chunks, jtype, [], length
        return 200, jbytes(reply), jtype, [], None

    @staticmethod
    def oauth_error(e):
        body = jbytes({"error": e.error, "error_description": str(e)})
        headers = [("WWW-Authenticate", 'Basic realm="insuresign-mock"')
                   ] if e.status == 401 else []
        return e.status, body, "application/json", headers, None

    # --- control API -------------------------------------------------------

    def r_config_get(self, url):
        with self.st.lock:
            config = dict(self.st.config)
        self.send_json(200, config)

    def r_config_post(self, url):
        changes = self.read_json()
        for key, value in changes.items():
            if key not in SWITCHES:
                raise BadRequest("unknown switch: " + key)
            expected = SWITCHES[key]
            if value is not None and not isinstance(value, expected):
                raise BadRequest("%s must be %s" % (key, getattr(
                    expected, "__name__", "a number")))
        if not all(isinstance(k, str) for k in changes.get("omit") or []):
            raise BadRequest("omit must be a list of member names")
        if changes.get("fault_grant") not in FAULT_GRANTS + (None,):
            raise BadRequest("fault_grant must be one of %s" % (FAULT_GRANTS,))
        with self.st.lock:
            for key, value in changes.items():
                if value is None:
                    self.st.config.pop(key, None)
                else:
                    self.st.config[key] = value
            config = dict(self.st.config)
        self.send_json(200, config)

    def r_reset(self, url):
        body = self.read_body()
        try:
            keep = bool(json.loads(body or b"{}").get("keep_grants"))
        except (ValueError, AttributeError):
            raise BadRequest("expected a JSON object") from None
        with self.st.lock:
            self.st.reset(keep_grants=keep)
        self.send_json(200, {"ok": True})

    def r_log(self, url):
        filters = parse_params(url.query)
        for key in filters:
            if key not in ("endpoint", "grant_type"):
                raise BadRequest("unknown filter: " + key)
        with self.st.lock:
            body = jbytes([e for e in self.st.log if all(
                e[k] == v for k, v in filters.items())])
        self.send(200, body, "application/json", NO_STORE)

    def r_stats(self, url):
        with self.st.lock:
            stats = dict(self.st.stats)
        self.send_json(200, stats)

    def r_tokens(self, url):
        with self.st.lock:
            body = jbytes(self.st.issued)
        self.send(200, body, "application/json", NO_STORE)

    def r_expire(self, url):
        obj = self.read_json()
        with self.st.lock:
            item = (self.st.codes.get(obj.get("code")) or
                    self.st.refresh.get(obj.get("refresh_token")))
            if item is not None:
                item["expired"] = True
        if item is None:
            return self.send_json(404, {"error": "no such code or token"})
        self.send_json(200, {"ok": True})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, context, state, verbose):
        self.address_family = (socket.AF_INET6 if ":" in address[0]
                               else socket.AF_INET)
        self.context, self.state, self.verbose = context, state, verbose
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.state.lock:
            self.state.stats["tcp_connections"] += 1
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        # Clients that vanish, reset or fail TLS are part of the job.
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handle_error(request, client_address)
        elif self.verbose:
            print("%s: %r" % (client_address[0], exc), file=sys.stderr)


def main(argv=None):
    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    ap = argparse.ArgumentParser(description="Mock InsureSign OAuth server.")
    ap.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--redirect-uri", action="append", required=True)
    ap.add_argument("--issuer")
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        ap.error("--listen must be HOST:PORT, e.g. 127.0.0.1:0 or [::1]:0")

    try:
        context = None
        if args.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.cert, args.key)
        server = Server((host, int(port)), context, State(args), args.verbose)
        port = server.server_address[1]
        if args.port_file:
            tmp = "%s.tmp%d" % (args.port_file, os.getpid())
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.replace(tmp, args.port_file)
    except OSError as e:
        print("insuresign_mock: %s" % e, file=sys.stderr)
        return 1
    shown = "[%s]" % host if ":" in host else host
    print("listening on %s://%s:%d" % ("https" if context else "http",
                                       shown, port), flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
