#!/usr/bin/env python3
"""Median and range per (phase, engine, n) from results/raw.txt (rounds r1..r3 only)."""
import re, statistics, collections
rows = collections.defaultdict(list)
for line in open("results/raw.txt"):
    m = re.match(r"(r\d) RESULT (\w+) (.*)", line)
    if not m: continue
    kv = dict(x.split("=", 1) for x in m.group(3).split() if "=" in x and not x.startswith("samples"))
    key = (m.group(2), kv["engine"], kv.get("n", ""), kv.get("body", ""))
    rows[key].append(kv)
for key, rs in rows.items():
    out = []
    for f in ["accepts_per_s", "cpu_us_per_event", "events_per_s", "accepted_per_s", "finished_per_s",
              "backlog", "cpu_us_per_accepted", "open_ms", "rss_after_open", "rss_mib", "disk_mib", "prefill_secs"]:
        vals = [float(r[f]) for r in rs if f in r]
        if vals:
            out.append(f"{f}: med {statistics.median(vals):.1f} [{min(vals):.1f}–{max(vals):.1f}]")
    print(key, len(rs), "; ".join(out))
