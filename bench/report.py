#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into one Markdown report.

usage: report.py RESULTS.tsv MACHINE.txt CRITERION_DIR PYTHON_EXTRACT.txt
RESULTS.tsv rows: label, messages, run, wall_us, peak_rss_kb, first output line, cpu_ms.
"""
import json
import os
import re
import statistics
import sys
from collections import defaultdict


def load(path):
    rows = defaultdict(list)
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 6 or parts[0].startswith("warmup:"):
            continue
        label, size, run, wall, rss, info = parts[:6]
        cpu = int(parts[6]) / 1e3 if len(parts) > 6 and parts[6] else None
        rows[(label, int(size))].append({"run": int(run), "wall": int(wall) / 1e6,
                                         "rss": int(rss or 0), "info": info, "cpu": cpu})
    return rows


def fmt_s(x):
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def med(rows, key="wall"):
    return statistics.median(r[key] for r in rows) if rows else None


def cell(rows):
    if not rows:
        return "–"
    w = [r["wall"] for r in rows]
    return f"{fmt_s(statistics.median(w))} ({fmt_s(min(w))}–{fmt_s(max(w))})"


def mib(kb):
    return f"{kb / 1024:.1f} MiB" if kb else "–"


def phase(rows, name):
    vals = []
    for r in rows:
        m = re.search(rf"\b{name}=([0-9.]+)s", r["info"])
        if m:
            vals.append(float(m.group(1)))
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def paired(a_rows, b_rows):
    """Median of a/b over the runs both have. Clients run interleaved, so a run of one and
    the same run of the other saw about the same load: pairing them cancels most of the
    drift that spreads each client's times (the limit's own spread is a third of it)."""
    b_by_run = {r["run"]: r["wall"] for r in b_rows}
    rs = [r["wall"] / b_by_run[r["run"]] for r in a_rows if b_by_run.get(r["run"])]
    return statistics.median(rs) if rs else None


def main():
    res, machine, crit_dir, py_path, cpu_path = sys.argv[1:6]
    rows = load(res)
    sizes = sorted({s for (_, s) in rows})
    big = max(sizes)
    small = min(sizes)
    out = []
    p = out.append
    p("# invite-digest benchmarks against peers (issue 6)")
    p("")
    p("```")
    p(open(machine, encoding="utf-8").read().rstrip())
    p("```")
    p("")
    p("Dovecot on loopback, IMAPS (TLS 1.3), warm Dovecot caches; mailbox of ~3 KB ordinary")
    p("messages plus 1% LinkedIn invitations (7-53 KB each, from tests/fixtures/synthetic).")
    p("Every client fetches the same messages (the invitations). Wall time of the whole process")
    p("(start, TLS, login, search, fetch, work, logout): median (min–max) of the runs.")
    p("")
    p("## First scan")
    p("")
    p("| messages | invite-digest `poll --once` (fresh state) | limit: same search | limit: imaplib's search | Python imaplib + `email` | imapfilter | imapfilter, same selection† |")
    p("|---:|---|---|---|---|---|---|")
    peers = ("limit", "imaplib", "imapfilter", "imapfilter_same")
    for s in sizes:
        fs, li, ln, ib, jf, js = (rows.get((k, s), []) for k in
                                  ("first_scan", "limit", "limit_narrow", "imaplib", "imapfilter",
                                   "imapfilter_same"))
        p(f"| {s:,} | {cell(fs)} | {cell(li)} | {cell(ln)} | {cell(ib)} | {cell(jf)} | {cell(js)} |")
    p("")
    p("invite-digest's time ÷ each peer's: median of the paired runs\* (ratio of the medians in "
      "brackets).")
    p("")
    p("| messages | ÷ limit: same search | ÷ imaplib | ÷ imapfilter | ÷ imapfilter, same selection† |")
    p("|---:|---:|---:|---:|---:|")
    for s in sizes:
        fs = rows.get(("first_scan", s), [])
        cells = []
        for k in peers:
            other = rows.get((k, s), [])
            cells.append(f"{ratio(paired(fs, other), 1)} ({ratio(med(fs), med(other))})"
                         if other else "–")
        p(f"| {s:,} | " + " | ".join(cells) + " |")
    p("")
    p("\\* Median over the runs of (invite-digest's time ÷ the peer's time in the same run). "
      "Each run times every client back to back, so the pair saw about the same load on the "
      "server and the machine; the ratio of the medians mixes runs far apart.")
    p("")
    p("† imapfilter selecting what invite-digest selects: mail from \"linkedin\" or "
      "\"linkedln\", or with \"linkedin\" in the subject (`LI_SELECT=same` in "
      "bench/imapfilter-linkedin.lua). imapfilter has no OR of rules in one search: it sends "
      "one `UID SEARCH` per rule and takes the union itself.")
    p("")
    p("TLS trust: invite-digest has `ca_file = <test CA>`, and then loads only that file (not the "
      "system CA bundle). The limit, a native-tls client, runs with `SSL_CERT_FILE=<test CA> "
      "SSL_CERT_DIR=/nonexistent` for the same effect; imaplib and imapfilter load the system "
      "bundle as well as the test CA.")
    p("")
    p("Searches: invite-digest and \"limit: same search\" send `UID SEARCH 1:* OR OR HEADER From "
      "\"linkedin\" HEADER From \"linkedln\" SUBJECT \"linkedin\"` (invite-digest's `SEARCH_CRITERIA`, "
      "which also catches look-alikes); imaplib and \"limit: imaplib's search\" `UID SEARCH FROM "
      "\"linkedin.com\"`; imapfilter `UID SEARCH FROM \"invitations@linkedin.com\"` (same selection: "
      "`UID SEARCH HEADER From \"linkedin\"`, `UID SEARCH HEADER From \"linkedln\"`, `UID SEARCH "
      "SUBJECT \"linkedin\"`), then one "
      "`UID FETCH` per message. "
      "The limit is bench/imap_limit.rs: one SEARCH, one FETCH of everything, nothing parsed, only "
      "the server's CA loaded.")
    p("")
    p("Connections: invite-digest searches in UID ranges (about 20,000 messages each, the last "
      "range cut smaller) and, from 4,000 messages to scan on, opens a second connection that "
      "fetches what each range found while the first searches the next one; the server works on "
      "both at once. The limit, imaplib and imapfilter use one connection, one command at a time.")
    p("")
    p("Peak RSS and CPU time of the client process (user + sys; `/usr/bin/time -v`, medians). "
      "Wall time minus the client's CPU is roughly time spent waiting for the server:")
    p("")
    p("| messages | invite-digest | limit | imaplib | imapfilter |")
    p("|---:|---:|---:|---:|---:|")

    def rss_cpu(rs):
        if not rs:
            return "–"
        cpus = [r["cpu"] for r in rs if r["cpu"] is not None]
        c = f", CPU {fmt_s(statistics.median(cpus))}" if cpus else ""
        return mib(med(rs, "rss")) + c

    for s in sizes:
        p(f"| {s:,} | " + " | ".join(rss_cpu(rows.get((k, s), [])) for k in
                                      ("first_scan", "limit", "imaplib", "imapfilter")) + " |")
    p("")
    li, ib = rows.get(("limit", big), []), rows.get(("imaplib", big), [])
    ln = rows.get(("limit_narrow", big), [])
    if li:
        p(f"Where the time goes at {big:,} messages (in-process, medians): limit: TLS setup "
          f"{fmt_s(phase(li, 'tls_setup'))}, connect + handshake + LOGIN {fmt_s(phase(li, 'login'))}, "
          f"EXAMINE {fmt_s(phase(li, 'select'))}, UID SEARCH "
          f"{fmt_s(phase(li, 'search'))} (imaplib's search: {fmt_s(phase(ln, 'search')) if ln else '–'}), "
          f"UID FETCH {fmt_s(phase(li, 'fetch'))}"
          + (f"; imaplib: SEARCH {fmt_s(phase(ib, 'search'))}, FETCH {fmt_s(phase(ib, 'fetch'))}, "
             f"`email` parsing {fmt_s(phase(ib, 'parse'))}" if ib else "") + ".")
        p("")
    p("## Idle and incremental polls")
    p("")
    p("| messages | idle poll (`poll --once`, nothing new) | first scan ÷ idle | IMAP commands after login |")
    p("|---:|---|---:|---|")
    for s in sizes:
        idle = rows.get(("idle", s), [])
        cmds = rows.get(("commands", s), [])
        c = f"{int(cmds[0]['wall'] * 1e6)}: {cmds[0]['info']}" if cmds else "–"
        p(f"| {s:,} | {cell(idle)} | {ratio(med(rows.get(('first_scan', s), [])), med(idle))} | {c} |")
    inc = rows.get(("incremental", big), [])
    p("")
    if inc:
        p(f"Incremental poll at {big:,} messages after 10 new messages (5 invitations, delivered "
          f"over LMTP): {cell(inc)}, peak RSS {mib(med(inc, 'rss'))}; every run's summary said "
          f"`scanned 5, new invitations 5` (asserted).")
        p("")
    p("## Memory of the daemon")
    p("")
    d1, d2 = rows.get(("daemon_first", big), []), rows.get(("daemon_idle", big), [])
    if d1 and d2:
        polls = d2[0]["run"]
        p(f"`invite-digest run` on the {big:,}-message mailbox with a fresh state: peak "
          f"(VmHWM) {mib(d1[0]['rss'])} during its first scan ({d1[0]['info']}); after {polls} "
          f"more polls (IDLE on, each woken by one new ordinary message): **VmRSS "
          f"{mib(d2[0]['rss'])}** ({d2[0]['info']}).")
        p("")
    ds = rows.get(("daemon_stop", big), [])
    if ds:
        p(f"Stop: {ds[0]['info']} (README: \"SIGTERM/SIGINT stop within seconds\").")
        p("")
    p("## Parse + classify + extract (+ score), fixture corpus, one core")
    p("")
    py = {}
    for line in open(py_path, encoding="utf-8"):
        kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
        if "policy" in kv:
            py[kv["policy"]] = kv
    n_msgs = int(next(iter(py.values()))["messages"]) if py else 0
    n_bytes = int(next(iter(py.values()))["bytes"]) if py else 0
    p(f"Corpus: {n_msgs} messages, {n_bytes / 1e6:.2f} MB (every .eml under tests/fixtures).")
    p("")
    p("| implementation | messages/s | MB/s |")
    p("|---|---:|---:|")
    rust = {}
    for name in ("classify_extract_score", "classify_extract"):
        est = os.path.join(crit_dir, name, "new", "estimates.json")
        if os.path.exists(est):
            ns = json.load(open(est))["median"]["point_estimate"]
            rust[name] = n_msgs / (ns / 1e9)
            p(f"| invite-digest `{name}` (Criterion median) | {rust[name]:,.0f} | "
              f"{n_bytes / (ns / 1e9) / 1e6:,.1f} |")
    for pol, kv in py.items():
        p(f"| Python `email` (policy {pol}) + regexes, bench/python_extract.py | "
          f"{float(kv['msgs_per_s']):,.0f} | {float(kv['mb_per_s']):,.1f} |")
    p("")
    best_py = max((float(kv["msgs_per_s"]) for kv in py.values()), default=None)
    ours = rust.get("classify_extract_score")
    # CPU time per pass, alternating rounds (bench/run.sh): the target's measure.
    rounds = []
    for line in open(cpu_path, encoding="utf-8"):
        f = line.split()
        if len(f) == 7:
            r1, rn, rp, p1, pn, pp = (float(x) for x in f[1:])
            rs, ps = (rn - r1) / rp, (pn - p1) / pp
            if rs > 0 and ps > 0:
                rounds.append((rs, ps))
    if rounds:
        p("CPU time (user + sys) per pass over the corpus, in alternating rounds: Rust "
          "(`EXTRACT_PASSES`, classify + extract + score) then Python compat32, each as N passes "
          "minus 1 pass, so start-up is left out. Wall time above moves with the neighbours' "
          "load; CPU time much less, so the target is judged on this.")
        p("")
        p("| round | invite-digest per pass | Python compat32 per pass | invite-digest messages/s (CPU) | Python messages/s (CPU) | ratio |")
        p("|---:|---:|---:|---:|---:|---:|")
        for i, (rs, ps) in enumerate(rounds, 1):
            p(f"| {i} | {rs * 1e3:.2f} ms | {ps * 1e3:.1f} ms | {n_msgs / rs:,.0f} | {n_msgs / ps:,.0f} | {ps / rs:.2f}× |")
        p("")
    cpu_ratio = statistics.median(ps / rs for rs, ps in rounds) if rounds else None
    p("## Targets")
    p("")
    p("| target | measured | |")
    p("|---|---|---|")

    def t(name, value, ok):
        p(f"| {name} | {value} | {'met' if ok else '**missed**' if ok is not None else '–'} |")

    fs, li = (med(rows.get((k, big), [])) for k in ("first_scan", "limit"))
    fs_li = paired(rows.get(("first_scan", big), []), rows.get(("limit", big), []))
    t(f"first scan ≤ 1.15× the limit ({big:,}; median of paired runs*)",
      f"{ratio(fs_li, 1)} (ratio of the medians: {ratio(fs, li)})",
      fs_li <= 1.15 if fs_li else None)
    fs_rows = rows.get(("first_scan", big), [])
    for key, name, bound in (("imaplib", "imaplib", 0.9),
                             ("imapfilter", "imapfilter as the issue set it up (from "
                              "invitations@linkedin.com)", 0.6),
                             ("imapfilter_same", "imapfilter selecting the same mail†", 0.6)):
        other = rows.get((key, big), [])
        pr = paired(fs_rows, other)
        t(f"first scan ≤ {bound}× {name} ({big:,}; median of paired runs*)",
          f"{ratio(pr, 1)} (ratio of the medians: {ratio(fs, med(other))})" if pr else "–",
          pr <= bound if pr else None)
    cmds = rows.get(("commands", big), [])
    n_cmds = int(cmds[0]["wall"] * 1e6) if cmds else None
    t("idle poll ≤ 3 round trips after login", f"{n_cmds} ({cmds[0]['info']})" if cmds else "–",
      n_cmds <= 3 if n_cmds is not None else None)
    idle_big, idle_small = med(rows.get(("idle", big), [])), med(rows.get(("idle", small), []))
    t(f"idle poll ≥ 10× faster than a full re-scan ({big:,})", ratio(fs, idle_big),
      fs / idle_big >= 10 if fs and idle_big else None)
    if small != big:
        t(f"idle poll at {big:,} within 1.2× of {small:,}", ratio(idle_big, idle_small),
          idle_big / idle_small <= 1.2)
    else:
        t("idle poll at 100k within 1.2× of 1k", "needs two sizes (full mode)", None)
    t("incremental poll fetches only the new messages", "scanned 5 of 10 new (asserted)" if inc else "–",
      True if inc else None)
    t("parse + classify + extract ≥ 10× Python (CPU time, median of the rounds)",
      f"{cpu_ratio:.2f}× (wall time, Criterion vs the faster Python policy: {ratio(ours, best_py)})"
      if cpu_ratio else "–", cpu_ratio >= 10 if cpu_ratio else None)
    t("idle daemon RSS ≤ 8 MiB", mib(d2[0]["rss"]) if d2 else "–", d2[0]["rss"] <= 8 * 1024 if d2 else None)
    anon = re.search(r"RssAnon (\d+) kB", d2[0]["info"]) if d2 else None
    t("idle daemon private memory (RssAnon) ≤ 8 MiB", mib(int(anon.group(1))) if anon else "–",
      int(anon.group(1)) <= 8 * 1024 if anon else None)
    peak = med(rows.get(("first_scan", big), []), "rss")
    t(f"peak RSS of the first scan ≤ 64 MiB ({big:,})", mib(peak), peak <= 64 * 1024 if peak else None)
    print("\n".join(out))


if __name__ == "__main__":
    main()
