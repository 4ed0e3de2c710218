#!/usr/bin/env python3
"""Readiness probe for the loopback mail test rig (stdlib only).

Adapted (copied unchanged in behaviour) from the verified test-server recipe
(shared/docs/test-servers.md, wait_ready.py). Used by start-dovecot.sh and
start-smtp.sh; a TCP connect alone proves nothing (listeners are bound before
the workers are ready, and TLS problems only show at the first handshake).

usage: wait_ready.py [--timeout S] [--ca CA.pem] CHECK...
  CHECK is KIND:PORT[@HOST], KIND one of
    imap      plain greeting "* OK"        imaps   TLS handshake (verified) + "* OK"
    lmtp/smtp greeting "220"               smtps   TLS handshake (verified) + "220"
    starttls  SMTP EHLO + STARTTLS + verified handshake
Exits 0 once every check passed (each retried until the deadline), else 1.
"""
import argparse
import socket
import ssl
import sys
import time


def readline(f):
    line = f.readline()
    if not line:
        raise ConnectionError("EOF")
    return line


def check(kind, host, port, ctx):
    with socket.create_connection((host, port), timeout=2) as s:
        if kind in ("imaps", "smtps"):
            s = ctx.wrap_socket(s, server_hostname=host)
        f = s.makefile("rb")
        g = readline(f)
        if kind in ("imap", "imaps"):
            return g.startswith(b"* OK")
        if not g.startswith(b"220"):
            return False
        if kind != "starttls":
            return True
        s.sendall(b"EHLO probe.localhost\r\n")
        while True:
            l = readline(f)
            if l[3:4] == b" ":
                break
        s.sendall(b"STARTTLS\r\n")
        if not readline(f).startswith(b"220"):
            return False
        t = ctx.wrap_socket(s, server_hostname=host)
        t.sendall(b"QUIT\r\n")
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--ca")
    ap.add_argument("checks", nargs="+")
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl.create_default_context()
    deadline = time.monotonic() + a.timeout
    pending = []
    for c in a.checks:
        kind, rest = c.split(":", 1)
        port, _, host = rest.partition("@")
        pending.append((kind, host or "127.0.0.1", int(port)))
    last = {}
    while pending:
        for item in list(pending):
            try:
                if check(*item, ctx):
                    pending.remove(item)
                    continue
                last[item] = "unexpected greeting"
            except Exception as e:  # noqa: BLE001
                last[item] = repr(e)
        if not pending:
            break
        if time.monotonic() > deadline:
            for item in pending:
                print(f"not ready: {item}: {last.get(item)}", file=sys.stderr)
            return 1
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
