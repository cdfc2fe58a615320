#!/usr/bin/env python3
"""make loadtest: wrk through lighttpd with 4 workers, 256 connections for
30 s on /status (a linked session) and on /connect.  Passes when there are
no errors, the workers' RSS did not grow after warm-up (within 1%), and
each worker holds as many open files after as before.  Not in make test:
it takes over a minute and wants the machine to itself.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import BASE, Rig  # noqa: E402

SECONDS = int(os.environ.get("LOAD_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("LOAD_CONNECTIONS", "256"))


def wrk(url, cookie, seconds, connections):
    r = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Cookie: {cookie}", "-H", "Accept: text/html", url],
        capture_output=True, text=True, check=True)
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), "
                     r"write (\d+), timeout (\d+)", out)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return {"rps": rps, "requests": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, sock.groups())) if sock else 0,
            "p99": p99}


def worker_state(rig):
    state = {}
    for pid in rig.worker_pids():
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        fds = sorted(os.readlink(f"/proc/{pid}/fd/{f}").split("[")[0]
                     for f in os.listdir(f"/proc/{pid}/fd"))
        state[pid] = (rss, fds)
    return state


def main():
    ok = True
    with Rig("LoadTest") as rig:
        b = rig.browser()
        assert rig.connect(b).status == 303
        cookie = f"insuresign_session={b.cookie('insuresign_session')}"
        status, connect = rig.url(BASE + "/status"), rig.url(BASE + "/connect")
        for url in (status, connect):          # warm-up
            wrk(url, cookie, 5, 32)
        time.sleep(1)
        before = worker_state(rig)
        results = {}
        for name, url in (("status", status), ("connect", connect)):
            results[name] = r = wrk(url, cookie, SECONDS, CONNECTIONS)
            print(f"{name:8} {r['rps']:9.0f} req/s  {r['requests']} requests"
                  f"  p99 {r['p99']}  non-2xx {r['non2xx']}"
                  f"  socket errors {r['socket_errors']}")
            if r["non2xx"] or r["socket_errors"]:
                ok = False
        time.sleep(1)
        after = worker_state(rig)
        if set(after) != set(before):
            print(f"FAIL workers changed: {sorted(before)} -> "
                  f"{sorted(after)}")
            ok = False
        for pid in sorted(before):
            if pid not in after:
                continue
            (r0, f0), (r1, f1) = before[pid], after[pid]
            growth = (r1 - r0) / r0 * 100
            print(f"worker {pid}: RSS {r0} -> {r1} kB ({growth:+.2f}%),"
                  f" open files {len(f0)} -> {len(f1)}")
            if f1 != f0:
                print(f"  before {f0}\n  after  {f1}")
            if growth > 1 or f1 != f0:
                ok = False
    print("loadtest:", "ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
