#!/usr/bin/env python3
"""Deterministic benchmark mailbox for bench/run.sh.

Message i (0-based) is a LinkedIn invitation when i % 100 == 50 (exactly 1% of every
hundred), else an ordinary ~3 KB message from a non-LinkedIn sender. Invitations are the
genuine-invitation fixtures of tests/fixtures/synthetic (From: "... via LinkedIn
<invitations@linkedin.com>", 7-50 KB of real-looking LinkedIn HTML), each copy made unique:
its invitation id is replaced by one derived from i (same length, so quoted-printable lines
keep their length) and its Message-ID gets a per-copy prefix. So a first scan stores one
new invitation per copy, as a real mailbox would, and every client (invite-digest, the
peers, the limit) fetches exactly the same messages: nothing else mentions LinkedIn in From
or Subject.

  gen_mailbox.py maildir DIR START END [--uid U --gid G]
      write messages START..END-1 as Maildir files into DIR/cur (DIR/new, tmp created)
  gen_mailbox.py lmtp HOST PORT RCPT START COUNT INVITATIONS
      deliver COUNT new messages over LMTP, the first INVITATIONS of them invitations
  gen_mailbox.py eml DIR START END
      write messages as DIR/<i>.eml (for inspection)

Adapted from the verified test-server recipe's gen_messages.py (Maildir naming included).
"""
import json
import os
import random
import re
import smtplib
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "synthetic")

FIRST = ["Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kira", "Lukas", "Mira", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Schmidt", "Novak", "Garcia", "Okafor", "Tanaka", "Silva", "Kowalski", "Jensen",
        "Rossi", "Dubois", "Hughes", "Ivanova", "Kim", "Larsen"]
# No sender or subject here contains "linkedin" or "linkedln": only the invitations match
# the clients' searches.
OTHER_SENDERS = [
    "newsletter@news.example.org", "billing@shop.example.com", "alerts@monitoring.example.net",
    "friend@mail.example.com", "ci@builds.example.dev", "noreply@github.example",
    "team@calendar.example.com", "hr@corp.example.com", "support@saas.example.io",
    "digest@forum.example.net",
]
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
         "exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in "
         "reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint "
         "occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
         "laborum").split()
RCPT = "Alice Example <alice@example.test>"
BASE_TS = 1_700_000_000  # message i is dated BASE_TS + i*60
SEED = 42


def is_invitation(i):
    return i % 100 == 50


def _load_templates():
    """Genuine invitations among the synthetic fixtures, one per invitation id."""
    out, seen = [], set()
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(".eml"):
            continue
        stem = name[:-4]
        if os.path.exists(os.path.join(FIXTURES, stem + ".config.toml")):
            continue  # needs its own config to be read as the fixture expects
        exp = os.path.join(FIXTURES, stem + ".expected.json")
        if not os.path.exists(exp):
            continue
        with open(exp, encoding="utf-8") as f:
            e = json.load(f)
        inv = e.get("invitation_id")
        if e.get("kind") != "invitation" or e.get("authenticity") != "pass" or not inv:
            continue
        if "invitations@linkedin.com" not in (e.get("from") or "") or inv in seen:
            continue
        seen.add(inv)
        with open(os.path.join(FIXTURES, name), "rb") as f:
            raw = f.read()
        mid = (e.get("message_id") or "").encode()
        out.append((name, raw, inv.encode(), mid))
    if not out:
        sys.exit(f"gen_mailbox.py: no invitation fixtures in {FIXTURES}")
    return out


_TEMPLATES = None
_PATTERNS = {}


def _id_pattern(inv):
    """The id's digits, allowing a quoted-printable soft line break between any two."""
    if inv not in _PATTERNS:
        soft = b"(?:=\r?\n)?"
        _PATTERNS[inv] = re.compile(soft.join(re.escape(bytes([c])) for c in inv))
    return _PATTERNS[inv]


def _respell(found, new_inv):
    """`found` with its digits replaced by `new_inv`'s, soft line breaks kept in place."""
    out, k = bytearray(), 0
    for c in found:
        if 48 <= c <= 57:
            out.append(new_inv[k])
            k += 1
        else:
            out.append(c)
    return bytes(out)


def invitation_msg(i):
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = _load_templates()
    _, raw, inv, mid = _TEMPLATES[(i // 100) % len(_TEMPLATES)]
    new_inv = inv[:3] + str(i).zfill(len(inv) - 3).encode()
    raw = _id_pattern(inv).sub(lambda m: _respell(m.group(0), new_inv), raw)
    if mid:
        raw = raw.replace(b"<" + mid + b">", b"<bench" + str(i).encode() + b"." + mid + b">", 1)
    return raw


def _para(rng, nbytes):
    out, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        if len(line) >= 11:
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return "\n".join(out)


def _date(ts):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))


def other_msg(i):
    rng = random.Random(SEED * 1_000_003 + i)
    snd = rng.choice(OTHER_SENDERS)
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    hdr = (f"Return-Path: <{snd}>\n"
           f"Received: from mail.example.net (mail.example.net [192.0.2.{i % 250 + 1}])\n"
           f"\tby mx.example.test with ESMTPS id m{i:08d}; {_date(BASE_TS + i * 60)}\n"
           f"From: {fn} {ln} <{snd}>\n"
           f"To: {RCPT}\n"
           f"Subject: Message {i}: {' '.join(rng.choice(WORDS) for _ in range(5))}\n"
           f"Date: {_date(BASE_TS + i * 60)}\n"
           f"Message-ID: <m{i:08d}.{rng.getrandbits(32):x}@example.net>\n"
           f"MIME-Version: 1.0\n"
           f"Content-Type: text/plain; charset=UTF-8\n"
           f"Content-Transfer-Encoding: 7bit\n\n")
    return (hdr + _para(rng, 3000 - len(hdr)) + "\n").encode()


def message(i, invitation=None):
    if invitation is None:
        invitation = is_invitation(i)
    return invitation_msg(i) if invitation else other_msg(i)


def write_maildir(d, start, end, uid=None, gid=None):
    for s in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, s), exist_ok=True)
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    pid = os.getpid()
    t0 = int(time.time())
    for i in range(start, end):
        data = message(i)
        ts = BASE_TS + i * 60
        # PITFALL (from the recipe): Dovecot keys dovecot-uidlist records by a weak PJW hash
        # of the whole base file name; "<t0>.M<i>P<pid>Q<i>" gave only ~11.7k distinct
        # hashes for 100k files with some PIDs, costing ~1.1 s of CPU per IMAP session.
        # A unique time plus a spread "usec" keeps >= 99.9k distinct hashes.
        vsize = len(data) + data.count(b"\n")
        name = f"{t0 + i}.M{(i * 104729) % 1000000}P{pid}.{host},S={len(data)},W={vsize}:2,"
        fd = os.open(os.path.join(d, "cur", name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.utime(fd, (ts, ts))  # INTERNALDATE = mtime
            if uid is not None:
                os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
    if uid is not None:
        for s in ("", "cur", "new", "tmp"):
            os.chown(os.path.join(d, s), uid, gid)


def deliver_lmtp(host, port, rcpt, start, count, invitations):
    with smtplib.LMTP(host, port) as s:
        for k in range(count):
            data = message(start + k, invitation=k < invitations)
            s.sendmail("bench@example.test", [rcpt], data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "maildir":
        uid = gid = None
        if "--uid" in a:
            uid = int(a[a.index("--uid") + 1])
            gid = int(a[a.index("--gid") + 1])
        write_maildir(a[1], int(a[2]), int(a[3]), uid, gid)
    elif len(a) == 7 and a[0] == "lmtp":
        deliver_lmtp(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]))
    elif len(a) == 4 and a[0] == "eml":
        os.makedirs(a[1], exist_ok=True)
        for i in range(int(a[2]), int(a[3])):
            with open(os.path.join(a[1], f"{i}.eml"), "wb") as f:
                f.write(message(i))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
