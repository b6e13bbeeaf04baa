#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn the benchmark's raw records (bench/bench.sh) into a Markdown report
and a PNG chart (gnuplot).

  report.py RESULTS.tsv --md RESULTS.md --png RESULTS.png

Records, tab-separated, one per line:
  meta KEY VALUE                 machine, versions, settings
  note TEXT                      anything the run wants a reader to know
  skip PEER WHY                  a peer that could not run here
  traffic METRIC PEER ROUND V    one measurement
  errors WORKLOAD PEER ROUND T   errors a load generator reported
  micro CASE N NS FLOOR_NS       BPF_PROG_TEST_RUN, ns per packet
  cost BLOCK NS FLOOR_NS         one building block of the hit path, alone
  mem NAME VALUE                 map memory (bytes)
  map NAME TYPE MAX AT_LOAD FULL ESTIMATED    one map of the default object
  control NAME COUNT MS          control-plane timings
  busy WHAT WHY                  a measurement started while others used the machine

Traffic figures are the median over rounds; "spread" is (max - min) / median.
Goals are reported, never enforced.

New connections come in two rows: "conn" (tuned client, fresh client address)
and "conn_default" (default client settings, measured right after a run
straight to the container from the same client address), each with the
client's SYN retransmissions: METRIC_syn_retrans (TcpExtTCPSynRetrans),
METRIC_opens (TcpActiveOpens), METRIC_retrans_pct; conn_default_direct_run is
the rate of the unmeasured direct run, conn_default_dp_NAME bpfport's
datapath events (`bpfport ct stats`) during the measured run.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

PEERS = ["direct", "bpfport-native", "bpfport-generic", "bpfport-tc", "iptables-1",
         "iptables-10k", "nft-map-10k", "docker-proxy"]
BPF_MODES = ["bpfport-native", "bpfport-generic", "bpfport-tc"]
OTHERS = ["direct", "iptables-1", "iptables-10k", "nft-map-10k", "docker-proxy"]

# metric: (label, unit, higher is better)
METRICS = {
    "conn": ("new connections (HTTP, Connection: close)", "conn/s", True),
    "conn_default": ("new connections, default client, after a direct run", "conn/s", True),
    "conn_retrans_pct": ("SYN retransmissions per 100 new connections", "%", False),
    "conn_default_retrans_pct": ("SYN retransmissions per 100 new connections, default client, "
                                 "after a direct run", "%", False),
    "rps": ("kept-alive requests (HTTP)", "req/s", True),
    "rps_p50": ("kept-alive request latency p50", "µs", False),
    "rps_p99": ("kept-alive request latency p99", "µs", False),
    "bulk": ("bulk TCP, offloads on", "Gbit/s", True),
    "bulk_nooff": ("bulk TCP, offloads off", "Gbit/s", True),
    "udp": ("UDP request/response", "trans/s", True),
    "udp_p50": ("UDP round trip p50", "µs", False),
    "udp_p99": ("UDP round trip p99", "µs", False),
}
THROUGHPUT = ["conn", "conn_default", "rps", "bulk", "bulk_nooff", "udp"]
# Shares, not rates: shown in the traffic table, never divided by each other.
SHARES = ["conn_retrans_pct", "conn_default_retrans_pct"]
# conn_default's SYN retransmissions may reach at most this share (percent).
SYN_RETRANS_MAX_PCT = 0.1

MICRO = {
    "hit": "translation hit, XDP (established flow)",
    "hit_tc": "translation hit, TC ingress",
    "reply": "reply translation, TC egress",
    "miss": "miss: port nobody publishes, XDP",
    "miss_published": "miss: published port, no flow or binding for the address, XDP",
    "hit_ipv6": "translation hit, IPv6, XDP",
    "reply_ipv6": "reply translation, IPv6, TC egress",
    "miss_ipv6": "miss, IPv6, port nobody publishes, XDP",
    "hit_spread": "hit, random flow each packet (cache misses)",
    "reply_spread": "reply, random flow each packet",
    "new_flow": "new flow: binding hit + 2 conntrack inserts",
    "new_flow_wildcard": "new flow on a 0.0.0.0 binding (+ FIB lookup)",
}

# (metric, peer, minimum ratio bpfport/peer)
GOALS = [
    ("conn", "direct", 0.97), ("conn", "iptables-1", 1.25), ("conn", "iptables-10k", 5.0),
    ("conn", "nft-map-10k", 1.0), ("conn_default", "iptables-1", 0.95),
    ("rps", "direct", 0.97), ("rps", "docker-proxy", 1.7),
    ("bulk", "direct", 0.97), ("bulk", "docker-proxy", 1.7),
    ("bulk_nooff", "direct", 0.97), ("bulk_nooff", "docker-proxy", 1.7),
    ("udp", "direct", 0.95), ("udp", "docker-proxy", 3.0),
]


def load(path):
    d = {"meta": {}, "note": [], "skip": {}, "traffic": defaultdict(list), "errors": [],
         "micro": {}, "cost": {}, "mem": {}, "maps": [], "control": {},
         "busy": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = line.rstrip("\n").split("\t")
            kind = r[0]
            try:
                if kind == "meta":
                    d["meta"][r[1]] = r[2]
                elif kind == "note":
                    d["note"].append(r[1])
                elif kind == "skip":
                    d["skip"][r[1]] = r[2]
                elif kind == "traffic":
                    d["traffic"][(r[1], r[2])].append(float(r[4]))
                elif kind == "errors":
                    d["errors"].append(r[1:])
                elif kind == "micro":
                    ns = None if r[3] == "n/a" else float(r[3])
                    fl = None if r[4] == "n/a" else float(r[4])
                    d["micro"][(r[1], int(r[2]))] = (ns, fl)
                elif kind == "cost":
                    d["cost"][r[1]] = (float(r[2]), float(r[3]))
                elif kind == "busy":
                    d["busy"].append((r[1], r[2]))
                elif kind == "map":
                    d["maps"].append((r[1], r[2], int(r[3]), int(r[4]), int(r[5]), r[6] == "1"))
                elif kind == "mem":
                    d["mem"][r[1]] = float(r[2])
                elif kind == "control":
                    d["control"][r[1]] = (int(r[2]), float(r[3]))
            except (IndexError, ValueError):
                print("report: skipping malformed record: %r" % line, file=sys.stderr)
    return d


def med(d, metric, peer):
    v = d["traffic"].get((metric, peer))
    return statistics.median(v) if v else None


def spread(d, metric, peer):
    v = d["traffic"].get((metric, peer))
    if not v or len(v) < 2:
        return None
    m = statistics.median(v)
    return (max(v) - min(v)) / m if m else None


def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "Gbit/s":
        return "%.2f" % v
    if unit == "µs":
        return "%.0f" % v if v >= 100 else "%.1f" % v
    if unit == "%":
        return "%.2f" % v if v >= 1 else "%.3f" % v
    return "{:,.0f}".format(v)


def ratio(a, b):
    return a / b if a is not None and b else None


def fr(r):
    return "–" if r is None else "%.2fx" % r


def best_mode(d, metric):
    """The bpfport mode with the best median for a metric: (mode, value)."""
    hb = METRICS[metric][2]
    vals = [(m, med(d, metric, m)) for m in BPF_MODES if med(d, metric, m) is not None]
    if not vals:
        return None, None
    return (max if hb else min)(vals, key=lambda x: x[1])


def short(mode):
    return mode.replace("bpfport-", "") if mode else "–"


def mib(b):
    return b / 1048576.0


def report_conn(d, peers, w):
    """New connections, tuned and default client, with SYN retransmissions."""
    t = d["traffic"]
    if not any(k[0] in ("conn_default", "conn_syn_retrans") for k in t):
        return
    m = d["meta"]
    w("### New connections and SYN retransmissions")
    w("")
    w("HTTP with `Connection: close`: nginx in the container closes first, so the container "
      "keeps each connection's tuple in TIME_WAIT for 60 s. Two ways of opening them:")
    w("")
    w("- **tuned**: the row *%s* above. wrk -t1 -c%s for %s s from a client address no run "
      "used before, with %s." % (METRICS["conn"][0], m.get("conns", "16"),
                                 m.get("duration_s", "?"),
                                 m.get("client_tuned", "a widened port range and tcp_tw_reuse")))
    w("- **default client, after a direct run**: the row *%s*. The client's own defaults (%s), "
      "and the sequence users run into: from a fresh client address, wrk -t1 -c%s -d%ss "
      "straight to the container (`direct run`, not counted), then wrk -t1 -c%s -d%ss against "
      "the peer's published port (measured). The container still holds the direct run's "
      "tuples in TIME_WAIT; a translated SYN from the same client port with an older "
      "timestamp is answered with a bare ACK, and the connection waits for the client to "
      "retransmit its SYN (1 s) unless the translator gives the flow another client port, as "
      "netfilter's NAT does. For direct, both runs go to the container."
      % (METRICS["conn_default"][0], m.get("client_default", "?"), m.get("seq_conns", "?"),
         m.get("seq_direct_s", "?"), m.get("seq_conns", "?"), m.get("seq_s", "?")))
    w("")
    w("*SYN retrans*: `TcpExtTCPSynRetrans` of the client's namespace (`nstat`, reset just "
      "before the measured run), every SYN sent again; *conns*: `TcpActiveOpens`, connections "
      "the client attempted; *%*: retransmitted SYNs per 100 connections, an upper bound on "
      "the share of connections that had one. A SYN sent in the last second of a run has no "
      "time to be retransmitted (initial timeout 1 s), so the count covers the earlier part. "
      "Medians over rounds.")
    w("")
    base = med(d, "conn_default", "iptables-1")
    w("| peer | tuned conn/s | SYN retrans | % | direct run conn/s | conn/s | SYN retrans | conns "
      "| % | conn/s vs iptables-1 |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in peers:
        def cell(met, unit):
            return fmt(med(d, met, p), unit)
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            p, cell("conn", "conn/s"), cell("conn_syn_retrans", "n"),
            cell("conn_retrans_pct", "%"), cell("conn_default_direct_run", "conn/s"),
            cell("conn_default", "conn/s"), cell("conn_default_syn_retrans", "n"),
            cell("conn_default_opens", "n"), cell("conn_default_retrans_pct", "%"),
            fr(ratio(med(d, "conn_default", p), base))))
    w("")
    dp = []
    for mode in BPF_MODES:
        names = sorted({k[0] for k in t if k[1] == mode and k[0].startswith("conn_default_dp_")})
        ev = ["%s {:,.0f}".format(med(d, n, mode)) % n[len("conn_default_dp_"):] for n in names]
        if ev:
            dp.append("%s: %s" % (short(mode), ", ".join(ev)))
    if dp:
        w("bpfport's datapath events during the measured run (`bpfport ct stats`, growth, "
          "median of rounds): " + "; ".join(dp) + ".")
        w("")


def report_md(d):
    out = []
    w = out.append
    m = d["meta"]
    peers = [p for p in PEERS if any((k[1] == p) for k in d["traffic"])]

    w("# bpfport benchmark results")
    w("")
    w("Generated by `make %s` (`bench/bench.sh`); raw records in `results.tsv`."
      % ("bench" if m.get("mode") == "full" else "bench-quick"))
    w("")
    w("| | |")
    w("|---|---|")
    for k, label in [("date", "date"), ("commit", "commit"), ("cpu", "CPU"), ("cpus", "CPUs"),
                     ("memory", "memory"), ("kernel", "kernel")]:
        if k in m:
            w("| %s | %s |" % (label, m[k]))
    w("| runs | %s round(s), %s s per workload, peers interleaved (order rotated each round) |"
      % (m.get("rounds", "?"), m.get("duration_s", "?")))
    if any(k[0] == "conn_default" for k in d["traffic"]):
        w("| new connections after a direct run | wrk -t1 -c%s, %s s straight to the container, "
          "then %s s through the peer (measured) |"
          % (m.get("seq_conns", "?"), m.get("seq_direct_s", "?"), m.get("seq_s", "?")))
    for k, label in [("client_tuned", "client, tuned"), ("client_default", "client, default"),
                     ("bpfport_direct_access", "bpfport direct access to containers")]:
        if k in m:
            w("| %s | %s |" % (label, m[k]))
    tools = ["%s %s" % (k, m[k]) for k in ["wrk", "iperf3", "sockperf", "nginx"] if k in m]
    for k in ["iptables", "nft", "docker_proxy"]:
        if k in m:
            tools.append(m[k])
    w("| tools | %s |" % ", ".join(tools))
    w("")
    w("Topology: the end-to-end tests' namespaces (client `192.0.2.2` -- veth -- host "
      "`192.0.2.1` -- bridge -- veth -- container `198.51.100.8`), all on one 2-core VM, so "
      "the load generator, the server and the forwarding host share the same CPUs. Published "
      "ports are `0.0.0.0:80->8080/tcp` (nginx), `5201` (iperf3), `7000/udp` (sockperf).")
    w("")

    # --- traffic
    w("## Traffic (median of rounds)")
    w("")
    w("| workload | unit | " + " | ".join(peers) + " |")
    w("|---|---|" + "---:|" * len(peers))
    for met, (label, unit, _) in METRICS.items():
        if not any(med(d, met, p) is not None for p in peers):
            continue
        cells = []
        for p in peers:
            v = med(d, met, p)
            s = spread(d, met, p)
            cells.append(fmt(v, unit) + (" ±%.0f%%" % (50 * s) if s is not None and s >= 0.1 else ""))
        w("| %s | %s | %s |" % (label, unit, " | ".join(cells)))
    w("")
    w("± is half the range over rounds, shown where it is 5% or more.")
    w("")

    w("### Ratio to direct")
    w("")
    w("| workload | " + " | ".join(peers) + " |")
    w("|---|" + "---:|" * len(peers))
    for met, (label, unit, hb) in METRICS.items():
        base = med(d, met, "direct")
        if base is None or met in SHARES:
            continue
        cells = [fr(ratio(med(d, met, p), base)) for p in peers]
        w("| %s%s | %s |" % (label, "" if hb else " (lower is better)", " | ".join(cells)))
    w("")

    w("### bpfport against each peer")
    w("")
    w("Fastest bpfport mode per workload, and its figure divided by each peer's "
      "(above 1.00x: bpfport is faster; for latency, below 1.00x is better).")
    w("")
    others = [p for p in OTHERS if p in peers]
    w("| workload | fastest mode | " + " | ".join("vs " + p for p in others) + " |")
    w("|---|---|" + "---:|" * len(others))
    for met, (label, unit, hb) in METRICS.items():
        mode, v = best_mode(d, met)
        if mode is None or met in SHARES:
            continue
        cells = [fr(ratio(v, med(d, met, p))) for p in others]
        w("| %s | %s (%s %s) | %s |" % (label, short(mode), fmt(v, unit), unit, " | ".join(cells)))
    w("")
    w("Every bpfport mode against every peer:")
    w("")
    w("| workload | mode | " + " | ".join("vs " + p for p in others) + " |")
    w("|---|---|" + "---:|" * len(others))
    for met in THROUGHPUT:
        for mode in BPF_MODES:
            v = med(d, met, mode)
            if v is None:
                continue
            cells = [fr(ratio(v, med(d, met, p))) for p in others]
            w("| %s | %s | %s |" % (METRICS[met][0], short(mode), " | ".join(cells)))
    w("")

    report_conn(d, peers, w)

    # --- goals
    w("## Goals")
    w("")
    w("Reported, not enforced. Traffic goals use the fastest bpfport mode for the workload; "
      "the native (default) mode's ratio is shown too. The ceiling is what no translation at "
      "all (direct) achieves against the same peer: a goal above its ceiling cannot be shown "
      "on this topology.")
    w("")
    w("| goal | measured | native | ceiling | verdict |")
    w("|---|---|---:|---:|---|")
    for met, peer, want in GOALS:
        mode, v = best_mode(d, met)
        r = ratio(v, med(d, met, peer))
        rn = ratio(med(d, met, "bpfport-native"), med(d, met, peer))
        ceil = ratio(med(d, met, "direct"), med(d, met, peer))
        if r is None:
            w("| %s >= %.2fx %s | not measured | | | – |" % (METRICS[met][0], want, peer))
            continue
        verdict = "met" if r >= want else "**missed**"
        if r < want and ceil is not None and ceil < want:
            verdict += " (above the ceiling)"
        w("| %s >= %.2fx %s | %s (%s) | %s | %s | %s |" % (
            METRICS[met][0], want, peer, fr(r), short(mode), fr(rn), fr(ceil), verdict))
    syn = [(mode, med(d, "conn_default_retrans_pct", mode)) for mode in BPF_MODES]
    syn = [(mode, v) for mode, v in syn if v is not None]
    if syn:
        worst = max(v for _, v in syn)
        ceil = med(d, "conn_default_retrans_pct", "iptables-1")
        w("| new connections, default client, after a direct run: SYN retransmissions <= %s%% "
          "of connections, every mode | %s | %s | %s | %s |" % (
              fmt(SYN_RETRANS_MAX_PCT, "%"),
              ", ".join("%s %s%%" % (short(mode), fmt(v, "%")) for mode, v in syn),
              fmt(med(d, "conn_default_retrans_pct", "bpfport-native"), "%") + "%"
              if med(d, "conn_default_retrans_pct", "bpfport-native") is not None else "–",
              "iptables-1 %s%%" % fmt(ceil, "%") if ceil is not None else "–",
              "met" if worst <= SYN_RETRANS_MAX_PCT else "**missed**"))
    hit = d["micro"].get(("hit", 1))
    if hit and hit[0] is not None:
        delta = hit[0] - hit[1]
        w("| translation hit <= 30 ns above the XDP_PASS floor | %.0f ns above (%.0f vs %.0f ns) | | | %s |"
          % (delta, hit[0], hit[1], "met" if delta <= 30 else "**missed**"))
    sizes = sorted({n for (c, n) in d["micro"]})
    if sizes and sizes[-1] > 1:
        big = sizes[-1]
        for case, what in [("hit", "hot entry"), ("hit_spread", "random flows")]:
            a, b = d["micro"].get((case, 1)), d["micro"].get((case, big))
            if a and b and a[0] and b[0]:
                r = (b[0] - b[1]) / (a[0] - a[1])
                w("| %s bindings and flows cost <= 1.25x one (%s, above floor) | %.2fx (%.0f vs %.0f ns) | | | %s |"
                  % ("{:,}".format(big), what, r, b[0] - b[1], a[0] - a[1],
                     "met" if r <= 1.25 else "**missed**"))
    mem = d["mem"]
    if "bytes_per_binding" in mem:
        w("| bytes per binding and per tracked flow documented | %.0f B per binding, %.0f B per flow | | | met |"
          % (mem["bytes_per_binding"], mem["bytes_per_flow"]))
    if "default_bindings_full" in mem:
        v = mem["default_bindings_full"]
        w("| default maps fit in 64 MiB | %.1f MiB with 65,536 bindings (%.1f MiB at load, %.1f MiB "
          "with every map full) | | | %s |" % (mib(v), mib(mem["default_loaded"]),
                                              mib(mem["default_all_full"]),
                                              "met" if v <= 64 * 1048576 else "**missed**"))
    w("")

    # --- micro
    if d["micro"]:
        w("## Micro-benchmarks (BPF_PROG_TEST_RUN)")
        w("")
        w("Nanoseconds per packet, and in brackets above the floor: an XDP program that only "
          "returns XDP_PASS for XDP cases, a TC program that only returns TC_ACT_UNSPEC for TC "
          "cases. Hot cases repeat one packet (two conntrack entries map the tuple back and forth, "
          "so every iteration is a real rewrite), round-robin over all cases and sizes, fastest of "
          "the trials kept; spread and new-flow cases run each packet once, over random flows, "
          "interleaved with the floor program, medians kept. "
          "N bindings and N tracked flows (2N conntrack entries) are loaded.")
        w("")
        w("| case | " + " | ".join("N = {:,}".format(n) for n in sizes) + " |")
        w("|---|" + "---:|" * len(sizes))
        for case, label in MICRO.items():
            cells = []
            for n in sizes:
                v = d["micro"].get((case, n))
                if v is None:
                    cells.append("–")
                elif v[0] is None:
                    cells.append("n/a")
                else:
                    cells.append("%.0f (+%.0f)" % (v[0], v[0] - v[1]))
            if any(c != "–" for c in cells):
                w("| %s | %s |" % (label, " | ".join(cells)))
        floors = [d["micro"].get(("hit", n)) for n in sizes]
        w("| floor: XDP_PASS, hot | %s |" % " | ".join(
            "%.0f" % f[1] if f else "–" for f in floors))
        w("")
    if d["cost"]:
        labels = {
            "ktime_get_ns": "`bpf_ktime_get_ns()` (conntrack last-seen time, every packet)",
            "jiffies64": "`bpf_jiffies64()`, for comparison",
            "lookup_lru_hash_40b_key": "lookup, LRU hash, 40-byte key (conntrack)",
            "lookup_hash_40b_key": "lookup, hash, 40-byte key",
            "lookup_hash_20b_key": "lookup, hash, 20-byte key (bindings)",
            "lookup_percpu_array": "lookup, per-CPU array (counters)",
        }
        w("Where the time of a hit goes: each building block alone in an XDP program "
          "(hot, ns above the XDP_PASS floor):")
        w("")
        w("| building block | ns |")
        w("|---|---:|")
        for k, label in labels.items():
            if k in d["cost"]:
                ns, fl = d["cost"][k]
                w("| %s | %.0f |" % (label, ns - fl))
        w("")

    if mem:
        w("## Memory")
        w("")
        cpus = int(mem.get("cpus", 0))
        w("As the kernel accounts it (`memlock` in fdinfo), shipped map sizes, on this %d-CPU "
          "machine. Maps created with `BPF_F_NO_PREALLOC` grow with their entries: `bp_bindings` "
          "is filled with 65,536 bindings and measured; the others are estimated full from the "
          "kernel's per-element cost (marked ~)." % cpus)
        w("")
        if d["maps"]:
            w("| map | type | max entries | at load | full |")
            w("|---|---|---:|---:|---:|")
            for name, typ, mx, at_load, full, est in d["maps"]:
                w("| `%s` | %s | {:,} | %.2f MiB | %s%.2f MiB |".format(mx) % (
                    name, typ, mib(at_load), "~" if est else "", mib(full)))
            w("")
        w("| | bytes |")
        w("|---|---:|")
        rows = [
            ("per binding: `bp_bindings` element (allocated on add)", "bytes_per_binding_elem"),
            ("per binding: `bp_counters` slot (per-CPU, preallocated)", "bytes_per_binding_counters"),
            ("per binding: `bp_ports` element (one per host port, at most)", "bytes_per_binding_ports"),
            ("**per binding**", "bytes_per_binding"),
            ("**per tracked flow** (2 `bp_ct` entries, preallocated)", "bytes_per_flow"),
            ("all maps at load", "default_loaded"),
            ("with 65,536 bindings (bindings and ports full, no allow-lists)", "default_bindings_full"),
            ("every map full", "default_all_full"),
        ]
        for label, k in rows:
            if k in mem:
                v = mem[k]
                w("| %s | %s |" % (label, "{:,.0f}".format(v) + (" (%.1f MiB)" % mib(v) if v > 1048576 else "")))
        per_cpu = mem.get("counters_bytes_per_cpu")
        if cpus and per_cpu and "default_bindings_full" in mem:
            fixed = mem["default_bindings_full"] - 65536 * per_cpu * cpus
            w("")
            w("`bp_counters` is per CPU (%d bytes per binding per CPU), so the footprint grows with "
              "the CPU count: %.1f MiB + %.1f MiB per CPU with 65,536 bindings." % (
                  per_cpu, mib(fixed), mib(65536 * per_cpu)))
        big = [k for k in mem if k.startswith("ct_memlock.")]
        if big:
            w("")
            w("Micro-benchmark maps (sized for N): " + "; ".join(
                "N = {:,}: bp_bindings {:.1f} MiB, bp_ct {:.1f} MiB".format(
                    int(k.split(".")[1]), mib(mem.get("bindings_memlock." + k.split(".")[1], 0)),
                    mib(mem[k])) for k in sorted(big, key=lambda k: int(k.split(".")[1]))) + ".")
        w("")

    c = d["control"]
    if c:
        w("## Control plane")
        w("")
        w("| operation | count | total | per operation |")
        w("|---|---:|---:|---:|")
        labels = {
            "add_loop_empty": "`bpfport add` in a loop, from no bindings",
            "add_loop_10k": "`bpfport add` in a loop, with 10,000 bindings",
            "batch_10k_one_cmd": "10,000 bindings in one `bpfport add -p 20000-29999:20000-29999`",
            "batch_10k_10cmd": "10,000 bindings as 10 `bpfport add -p` of 1,000 ports",
            "port_small": "`bpfport port` with 1 binding",
            "port_10k": "`bpfport port` with 10,000 bindings",
            "iptables_restore_10k": "for comparison: iptables-restore of Docker's rules for 10,000 ports",
            "nft_10k": "for comparison: nft -f of a 10,000-entry map",
        }
        for k, label in labels.items():
            if k in c:
                n, ms = c[k]
                w("| %s | %d | %.0f ms | %.2f ms |" % (label, n, ms, ms / n))
        if "add_loop_empty" in c and "add_loop_10k" in c:
            a = c["add_loop_empty"][1] / c["add_loop_empty"][0]
            b = c["add_loop_10k"][1] / c["add_loop_10k"][0]
            w("")
            w("Each `bpfport add` reads and rewrites the whole state file, so its cost grows with "
              "the number of bindings: %.1f ms at first, %.1f ms at 10,000. A loop of 10,000 adds "
              "therefore takes about %.0f s (linear estimate from those two points)." % (
                  a, b, (a + b) / 2 * 10000 / 1000))
        if c.get("batch_10k_state_ok", (1, 1))[1] == 0:
            w("")
            w("**Bug:** after the one-command add of 10,000 ports the state file could not be "
              "read back (a line longer than the reader's limit), so every later command failed; "
              "see the notes.")
        w("")

    notes = d["note"] + ["%s skipped: %s" % (p, why) for p, why in d["skip"].items()]
    if d["busy"]:
        notes.insert(0, "**The machine was not quiet when %d measurement(s) started**, so their "
                     "figures shared the CPUs with other work and are less reliable: %s."
                     % (len(d["busy"]), "; ".join("%s (%s)" % b for b in d["busy"])))
    if d["errors"]:
        for wl, peer, rnd, text in d["errors"]:
            notes.append("%s, %s, round %s: load generator reported errors: %s" % (wl, peer, rnd, text))
    if notes:
        w("## Notes from the run")
        w("")
        for n in notes:
            w("- " + n)
        w("")
    return "\n".join(out)


MICRO_GNUPLOT = r"""
unset style
set style data linespoints
set title "Micro-benchmarks: ns per packet above the floor program (BPF\\_PROG\\_TEST\\_RUN)"
set logscale x 10
set logscale y 10
set xlabel "N bindings and N tracked flows"
set ylabel "ns above floor (log scale)"
set yrange [10:*]
set key outside right top vertical
set format x "10^{{%L}}"
plot for [i=2:{mcols}] '{mdat}' using 1:i title columnheader(i) noenhanced lw 2 pt 7
"""

TRAFFIC_GNUPLOT = r"""
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical
set ylabel "throughput relative to direct (1.0 = no translation)"
set yrange [0:*]
set xtics nomirror
set title "Traffic: median of rounds / direct (higher is better)"
plot for [i=2:{ncols}] '{dat}' using i:xtic(1) title columnheader(i) noenhanced
"""

GNUPLOT = r"""
set terminal pngcairo size 1400,1000 font "DejaVu Sans,11"
set output '{png}'
set multiplot layout {panels},1 title "bpfport benchmarks ({title})"
{traffic}
{micro}
unset multiplot
"""


def report_png(d, png):
    if not shutil.which("gnuplot"):
        print("report: gnuplot not installed; no chart", file=sys.stderr)
        return False
    peers = [p for p in PEERS if any((k[1] == p) for k in d["traffic"])]
    tmp = tempfile.mkdtemp(prefix="bpfport-report.")
    try:
        dat = os.path.join(tmp, "traffic.dat")
        rows = 0
        with open(dat, "w", encoding="utf-8") as f:
            f.write("workload " + " ".join('"%s"' % p for p in peers) + "\n")
            for met in THROUGHPUT:
                base = med(d, met, "direct")
                if base is None:
                    continue
                label = {"conn": "new conn/s", "conn_default": "new conn/s after direct, default client",
                         "rps": "kept-alive req/s", "bulk": "bulk TCP",
                         "bulk_nooff": "bulk TCP, no offloads", "udp": "UDP rr"}[met]
                vals = [ratio(med(d, met, p), base) for p in peers]
                f.write('"%s" %s\n' % (label, " ".join("%.4f" % v if v is not None else "NaN"
                                                     for v in vals)))
                rows += 1
        mdat = os.path.join(tmp, "micro.dat")
        cases = [c for c in ["hit", "hit_tc", "reply", "miss", "hit_spread", "reply_spread",
                             "new_flow"] if any(k[0] == c for k in d["micro"])]
        sizes = sorted({n for (c, n) in d["micro"]})
        with open(mdat, "w", encoding="utf-8") as f:
            f.write("n " + " ".join('"%s"' % c for c in cases) + "\n")
            for n in sizes:
                row = []
                for c in cases:
                    v = d["micro"].get((c, n))
                    row.append("%.1f" % (v[0] - v[1]) if v and v[0] is not None else "NaN")
                f.write("%d %s\n" % (n, " ".join(row)))
        m = d["meta"]
        title = "%s, %s CPUs, kernel %s, %s" % (m.get("cpu", "?"), m.get("cpus", "?"),
                                                m.get("kernel", "?"), m.get("date", "?"))
        micro = MICRO_GNUPLOT.format(mdat=mdat, mcols=len(cases) + 1) if cases else ""
        # Traffic is drawn relative to direct: nothing to draw without it.
        traffic = TRAFFIC_GNUPLOT.format(dat=dat, ncols=len(peers) + 1) if rows else ""
        if not rows and not cases:
            print("report: nothing to chart (no direct run, no micro-benchmarks)", file=sys.stderr)
            return True
        script = GNUPLOT.format(png=png, traffic=traffic, micro=micro,
                                panels=(1 if rows else 0) + (1 if cases else 0),
                                title=title.replace('"', ""))
        gp = os.path.join(tmp, "plot.gp")
        with open(gp, "w", encoding="utf-8") as f:
            f.write(script)
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print("report: gnuplot failed: %s" % r.stderr.strip(), file=sys.stderr)
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tsv")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png")
    a = ap.parse_args()
    d = load(a.tsv)
    md = report_md(d)
    with open(a.md + ".tmp", "w", encoding="utf-8") as f:
        f.write(md + "\n")
    os.replace(a.md + ".tmp", a.md)
    ok = True
    if a.png:
        ok = report_png(d, os.path.abspath(a.png))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
