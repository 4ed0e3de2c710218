#!/usr/bin/env python3
"""Peer baseline: a plain Python imaplib script, as a user would write it.

Logs in over IMAPS, EXAMINEs the mailbox, runs `UID SEARCH FROM "linkedin.com"`, fetches
every match with one `UID FETCH <set> (BODY.PEEK[])` and parses each message with the
`email` package (headers decoded, every text part decoded). Adapted from the verified
test-server recipe's imaplib_linkedin.py.

usage: imaplib_peer.py [--search CRITERIA]
env:   IMAP_HOST IMAPS_PORT IMAP_USER IMAP_PASSWORD MAILTEST_CA
Prints: imaplib: matched=N fetched=N bytes=N parsed=N login=… select=… search=… fetch=…
        parse=… total=… (seconds, in-script; the interpreter's start is not included)
"""
import argparse
import email
import email.policy
import imaplib
import os
import ssl
import time


def uid_set(uids):
    """Sorted ints as an IMAP sequence set: 1:3,7,9:10."""
    out, start, prev = [], None, None
    for u in uids:
        if start is None:
            start = prev = u
        elif u == prev + 1:
            prev = u
        else:
            out.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = u
    if start is not None:
        out.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--search", default='FROM "linkedin.com"')
    a = ap.parse_args()
    host = os.environ.get("IMAP_HOST", "127.0.0.1")
    ctx = ssl.create_default_context(cafile=os.environ.get("MAILTEST_CA"))
    t0 = time.perf_counter()
    m = imaplib.IMAP4_SSL(host, int(os.environ.get("IMAPS_PORT", 10993)), ssl_context=ctx)
    m.login(os.environ.get("IMAP_USER", "alice"), os.environ.get("IMAP_PASSWORD", "alicepw"))
    t1 = time.perf_counter()
    typ, _ = m.select("INBOX", readonly=True)
    assert typ == "OK"
    t2 = time.perf_counter()
    typ, data = m.uid("SEARCH", a.search)
    assert typ == "OK", data
    uids = sorted(int(x) for x in data[0].split())
    t3 = time.perf_counter()
    raws = []
    if uids:
        typ, resp = m.uid("FETCH", uid_set(uids), "(BODY.PEEK[])")
        assert typ == "OK", resp
        raws = [item[1] for item in resp if isinstance(item, tuple)]
    t4 = time.perf_counter()
    parsed = 0
    for raw in raws:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        _ = (str(msg["From"]), str(msg["Subject"]), msg["Message-ID"], msg["Date"])
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                part.get_content()
        parsed += 1
    t5 = time.perf_counter()
    m.logout()
    print(f"imaplib: matched={len(uids)} fetched={len(raws)} bytes={sum(map(len, raws))} "
          f"parsed={parsed} login={t1 - t0:.3f}s select={t2 - t1:.3f}s search={t3 - t2:.3f}s "
          f"fetch={t4 - t3:.3f}s parse={t5 - t4:.3f}s total={t5 - t0:.3f}s")


if __name__ == "__main__":
    main()
