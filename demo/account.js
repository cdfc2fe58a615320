// The account page's InsureSign box: state from /insuresign/status, a
// Connect (or Reconnect) link, and a Disconnect button that posts the CSRF
// token /status hands out.  No framework, no inline script (CSP-friendly).
"use strict";

const base = "/insuresign";
const notices = {
  connected: "Connected to InsureSign.",
  "already-connected": "Your InsureSign account was already connected.",
  denied: "You did not allow the connection at InsureSign.",
  error: "InsureSign could not be connected. Please try again.",
  disconnected: "Disconnected from InsureSign.",
};

const $ = (id) => document.getElementById(id);

function showNotice() {
  const url = new URL(location.href);
  const what = url.searchParams.get("insuresign");
  if (what && notices[what]) {
    $("insuresign-notice").textContent = notices[what];
    $("insuresign-notice").hidden = false;
  }
  // One-time: a reload must not show it again.
  url.searchParams.delete("insuresign");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

async function render() {
  const state = $("insuresign-state");
  const connect = $("insuresign-connect");
  const disconnect = $("insuresign-disconnect");
  let s;
  try {
    const r = await fetch(base + "/status", { credentials: "same-origin" });
    s = await r.json();
  } catch (e) {
    state.textContent = "InsureSign status is unavailable right now.";
    return;
  }
  if (s.connected) {
    const since = new Date(s.since).toLocaleString();
    const exp = new Date(s.expires_at).toLocaleString();
    state.textContent = `Connected since ${since} (token valid until ${exp}).`;
    connect.hidden = true;
  } else if (s.needs_reconnect) {
    state.textContent = "Needs reconnecting: InsureSign no longer accepts the link.";
    connect.textContent = "Reconnect";
    connect.hidden = false;
  } else {
    state.textContent = "Not connected.";
    connect.textContent = "Connect to InsureSign";
    connect.hidden = false;
  }
  disconnect.hidden = !(s.connected || s.needs_reconnect);
  disconnect.onclick = async () => {
    const r = await fetch(base + "/disconnect", {
      method: "POST",
      credentials: "same-origin",
      body: new URLSearchParams({ csrf: s.csrf_token }),
    });
    if (r.ok) {
      $("insuresign-notice").textContent = notices.disconnected;
      $("insuresign-notice").hidden = false;
    }
    render();
  };
}

showNotice();
render();
