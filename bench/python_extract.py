#!/usr/bin/env python3
"""Python reference for benches/extract.rs: the same fields, read with the standard
`email` package and regular expressions, from the same files (every .eml under
tests/fixtures, sorted by path), in memory, on one core.

Per message: decode the headers (From, Subject, Message-ID, Date), judge the topmost
Authentication-Results (dkim/dmarc pass for linkedin.com), the sender domain and the link
hosts (phishing), the LinkedIn template (kind: invitation, reminder, other LinkedIn, not
LinkedIn), and for invitations the inviter's name, headline, location, connections in
common, the note (or LinkedIn's default sentence), the invitation id and accept link; then
a score from the same kind of cue lists. It is a fair, idiomatic script, not a port of
invite-digest: it handles the common layouts, not every one since 2013.

usage: python_extract.py [--policy default|compat32] [--seconds S | --passes N] [--check] [ROOT]
  --policy   email.policy.default (decodes headers itself; the modern API) or compat32
             (faster; headers decoded with email.header). Default: both, one line each.
  --seconds  measure for about S seconds per policy (default 3); prints the median pass.
  --passes   exactly N passes per policy (for bench/run.sh's CPU-time rounds, which time
             the whole process: N passes minus 1 pass leaves out start-up and imports).
  --check    print, per file, the fields that differ from its .expected.json.
Prints: python_extract: policy=P messages=N bytes=B passes=K median_s=T msgs_per_s=M mb_per_s=X
"""
import email
import email.header
import email.policy
import email.utils
import html
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

LINKEDIN_DOMAIN = re.compile(r"(^|\.)linkedin\.com$", re.I)
HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.I)
URL = re.compile(r"https?://[^\s<>\"']+")
TAG = re.compile(r"<[^>]+>")
STYLE = re.compile(r"<(style|script|head)\b.*?</\1>", re.I | re.S)
WS = re.compile(r"[ \t\r\f\v]+")
TEMPLATE_IN_URL = re.compile(r"(?:ek=|eml-|email_email_|urn%3Ali%3Apage%3Aemail_)(email_[a-z0-9_]+?)(?:[-&%;]|$)", re.I)
INVITATION_ID = re.compile(r"invitationId(?:/|=)(\d+)")
ACCEPT_URL = re.compile(r"https://[a-z.]*linkedin\.com/comm/mynetwork/invite-accept/[^\s<>\"']+", re.I)
PROFILE_URL = re.compile(r"https://[a-z.]*linkedin\.com/comm/in/[^\s<>\"'?]+", re.I)
MUTUAL = re.compile(
    r"(\d+)\s+(?:mutual\s+)?(?:connections?\s+in\s+common|shared\s+connections?|gemeinsame\s+Kontakte|"
    r"relations?\s+en\s+commun|conexiones\s+en\s+común|conexões\s+em\s+comum|collegamenti\s+in\s+comune|"
    r"gemeenschappelijke\s+connecties|koneksi\s+bersama)", re.I)
GREETING = re.compile(r"^(hi|hello|dear|hallo|bonjour|hola|olá|ciao|hoi|halo)\b[^,\n]*,?\s*", re.I)
DEFAULT_TEXTS = [
    "i'd like to join your linkedin network", "i'd like to add you to my professional network on linkedin",
    "ich möchte sie gerne zu meinem beruflichen netzwerk auf linkedin hinzufügen",
    "j'aimerais vous inviter à rejoindre mon réseau professionnel en ligne, sur le site linkedin",
    "me gustaría añadirte a mi red profesional en linkedin",
    "gostaria de adicioná-lo à minha rede profissional no linkedin",
    "vorrei aggiungerti alla mia rete professionale su linkedin",
    "ik wil je graag toevoegen aan mijn professionele netwerk op linkedin",
    "saya ingin menambahkan anda ke jaringan profesional saya di linkedin",
]
CUES = {
    "context": (1.5, re.compile(r"\b(we met|met you|your talk|worked together|meetup|conference|same team|colleague)\b", re.I)),
    "objective": (1.0, re.compile(r"\b(stay in touch|would love to|i'd love to|keep in touch|follow up|discuss)\b", re.I)),
    "pitch": (-3.0, re.compile(r"\b(book a (quick )?call|i help companies|our services|free trial|demo)\b", re.I)),
    "money": (-4.0, re.compile(r"\b(crypto|bitcoin|forex|invest(ment)?|passive income)\b", re.I)),
    "elsewhere": (-2.0, re.compile(r"\b(whatsapp|telegram|\+\d[\d ]{7,})\b", re.I)),
}


def decode(value):
    if value is None:
        return None
    if isinstance(value, str) and "=?" not in value:
        return value
    return str(email.header.make_header(email.header.decode_header(str(value))))


def authenticity(msg):
    ar = msg.get_all("Authentication-Results") or []
    if not ar:
        return "none"
    top = str(ar[0])
    if re.search(r"\bdkim=pass\b[^;]*header\.(?:i=@|d=)(?:[\w.-]+\.)?linkedin\.com", top, re.I) or \
            re.search(r"\bdmarc=pass\b[^;]*header\.from=(?:[\w.-]+\.)?linkedin\.com", top, re.I):
        return "pass"
    if re.search(r"\b(dkim|dmarc)=fail\b", top, re.I):
        return "fail"
    return "none"


def bodies(msg):
    text = htm = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True) or b""
        s = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if ctype == "text/plain" and text is None:
            text = s
        elif ctype == "text/html" and htm is None:
            htm = s
    return text, htm


def html_to_text(h):
    h = STYLE.sub(" ", h)
    h = re.sub(r"<(br|/p|/div|/tr|/h\d)\b[^>]*>", "\n", h, flags=re.I)
    return html.unescape(TAG.sub(" ", h))


def extract(raw, compat=False):
    if compat:
        msg = email.message_from_bytes(raw)
    else:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    frm = decode(msg.get("From")) or ""
    name, addr = email.utils.parseaddr(frm)
    domain = addr.rpartition("@")[2].lower()
    subject = decode(msg.get("Subject"))
    out = {"from": frm, "subject": subject, "message_id": (msg.get("Message-ID") or "").strip("<> ") or None}
    date = msg.get("Date")
    try:
        out["date"] = int(email.utils.parsedate_to_datetime(str(date)).timestamp()) if date else None
    except (TypeError, ValueError):
        out["date"] = None
    out["authenticity"] = auth = authenticity(msg)
    text, htm = bodies(msg)
    links = URL.findall(text or "") + (HREF.findall(htm) if htm else [])
    hosts = {re.sub(r"^https?://([^/:?#]+).*$", r"\1", u).lower() for u in links}
    foreign = sorted(h for h in hosts if not LINKEDIN_DOMAIN.search(h) and "linkedin" in h)
    template = msg.get("X-LinkedIn-Template")
    if not template:
        m = TEMPLATE_IN_URL.search(" ".join(links))
        template = m.group(1) if m else None
    out["template"] = template
    sender_linkedin = bool(LINKEDIN_DOMAIN.search(domain))
    claims = "linkedin" in (frm + " " + (subject or "")).lower()
    if sender_linkedin:
        if auth == "fail" or foreign:
            kind = "phishing"
        elif template and "invite" in template and "accept" not in template:
            kind = "reminder" if "reminder" in template or "remind" in template else "invitation"
        elif addr.lower() == "invitations@linkedin.com" and INVITATION_ID.search(" ".join(links)):
            kind = "invitation"
        else:
            kind = "other_linkedin"
    elif claims:
        kind = "not_linkedin" if (subject or "").lower().startswith(("fw", "fwd")) else "phishing"
    else:
        kind = "not_linkedin"
    out["kind"] = kind
    if kind not in ("invitation", "reminder"):
        return out
    body = text if text else html_to_text(htm or "")
    inviter = re.sub(r"\s+via LinkedIn$", "", decode(name) or "").strip()
    lines = [WS.sub(" ", ln).strip() for ln in body.splitlines()]
    lines = [ln for ln in lines if ln]
    headline = location = None
    if inviter in lines:
        k = lines.index(inviter)
        after = lines[k + 1:k + 3]
        if after and not after[0].startswith(("http", "Accept", "View")):
            headline = after[0]
        if len(after) > 1 and not MUTUAL.search(after[1]) and not GREETING.match(after[1]):
            location = after[1]
    m = MUTUAL.search(body)
    mutual = int(m.group(1)) if m else None
    note = None
    for ln in lines:
        if GREETING.match(ln) or (len(ln) > 40 and not ln.startswith("http") and ":" not in ln[:12]):
            note = GREETING.sub("", ln).strip() or None
            break
    joined = " ".join(links)
    m = INVITATION_ID.search(joined) or INVITATION_ID.search(body)
    acc = ACCEPT_URL.search(joined)
    prof = PROFILE_URL.search(joined)
    status = "absent"
    if note:
        status = "default_text" if any(d in note.lower() for d in DEFAULT_TEXTS) else "present"
    score = 0.0
    if status == "present":
        score += 1.0
        for weight, cue in CUES.values():
            if cue.search(note):
                score += weight
    else:
        score -= 1.0
    if mutual is not None:
        score += 1.5 if mutual >= 10 else 0.5 if mutual > 0 else -0.5
    if not headline:
        score -= 1.0
    out.update({
        "inviter": {"name": inviter, "headline": headline, "location": location,
                    "profile_url": prof.group(0) if prof else None},
        "mutual_connections": mutual, "note_status": status, "note": note if status == "present" else None,
        "invitation_id": m.group(1) if m else None,
        "accept_url": acc.group(0).split("?")[0] if acc else None,
        "score": score, "verdict": "accept" if score >= 3 else "ignore" if score < 0 else "review",
    })
    return out


def corpus(root):
    paths = []
    for d, _, files in os.walk(root):
        paths += [os.path.join(d, f) for f in files if f.endswith(".eml")]
    paths.sort()
    return paths


def measure(files, compat, seconds, passes=None):
    total = sum(len(f) for f in files)
    times = []
    deadline = time.perf_counter() + seconds
    while not times or (len(times) < passes if passes else time.perf_counter() < deadline):
        t0 = time.perf_counter()
        for raw in files:
            extract(raw, compat)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"python_extract: policy={'compat32' if compat else 'default'} messages={len(files)} "
          f"bytes={total} passes={len(times)} median_s={med:.6f} msgs_per_s={len(files) / med:.1f} "
          f"mb_per_s={total / med / 1e6:.2f}")


def main():
    args = sys.argv[1:]
    policies = ["default", "compat32"]
    seconds = 3.0
    passes = None
    check = False
    root = os.path.join(HERE, "..", "tests", "fixtures")
    while args:
        a = args.pop(0)
        if a == "--policy":
            policies = [args.pop(0)]
        elif a == "--seconds":
            seconds = float(args.pop(0))
        elif a == "--passes":
            passes = int(args.pop(0))
        elif a == "--check":
            check = True
        elif a.startswith("-"):
            sys.exit(__doc__)
        else:
            root = a
    paths = corpus(root)
    files = [open(p, "rb").read() for p in paths]
    if check:
        agree = fields = 0
        for p, raw in zip(paths, files):
            exp_path = p[:-4] + ".expected.json"
            if not os.path.exists(exp_path):
                continue
            exp = json.load(open(exp_path, encoding="utf-8"))
            got = extract(raw)
            for k in ("kind", "authenticity", "invitation_id", "mutual_connections", "note_status", "verdict"):
                fields += 1
                g = got.get(k)
                if g == exp.get(k):
                    agree += 1
                else:
                    print(f"{os.path.relpath(p)}: {k}: got {g!r}, invite-digest expects {exp.get(k)!r}")
        print(f"python_extract --check: {agree}/{fields} fields agree with the expected output")
        return
    for pol in policies:
        measure(files, pol == "compat32", seconds, passes)


if __name__ == "__main__":
    main()
