"""The markdown bench/run prints and saves: the run's description, the table, the variant lines."""

from .config import WORKERS
from .workloads import METRICS

def variant_lines(result):
    labels = {c["id"]: c["label"] for c in result["contenders"]}
    lines = []
    for vid, v in result.get("variant_costs", {}).items():
        lines.append(f"{labels[vid]} against {labels[v['base']]}, paired by round (variant ÷ base):")
        for mid, m in v["metrics"].items():
            lines.append(f"- {m['label']}: {100 * (m['ratio_median'] - 1):+.1f} % (median of {len(m['ratios'])}; "
                         f"{100 * (m['ratio_min'] - 1):+.1f} % to {100 * (m['ratio_max'] - 1):+.1f} %); medians "
                         f"{m['variant_median']:.4g} against {m['base_median']:.4g}")
    return lines


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "req/s":
        return f"{v / 1000:.1f}k"
    if unit == "Gbit/s":
        return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    if unit in ("ms", "µs"):
        return f"{v:.0f}"
    if unit == "KiB":
        return f"{v:.0f}" if v >= 100 else f"{v:.2f}"
    if unit in ("fds", "calls"):
        return f"{v:.2f}"
    return f"{v:.3g}"


def table(result):
    contenders = result["contenders"]
    summary, rat = result["summary"], result["ratios"]
    labels = {c["id"]: c["label"] for c in contenders}
    head = ["workload"] + [c["label"] for c in contenders] + ["tessera-lb best ÷ best peer",
                                                              "tessera-lb best ÷ ceiling"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mid, label, unit, better, wl in METRICS:
        per = summary.get(mid)
        if not per:
            continue
        arrow = {"higher": "↑", "lower": "↓"}.get(better, "")
        row = [f"{label} {arrow}"]
        for c in contenders:
            s = per.get(c["id"])
            if not s:
                row.append("n/a")
            elif s["n"] > 1:
                row.append(f"{fmt(s['median'], unit)} ({fmt(s['min'], unit)}–{fmt(s['max'], unit)})")
            else:
                row.append(fmt(s["median"], unit))
        r = rat.get(mid, {})
        mode = labels.get(r.get("best_lb"), "").replace("tessera-lb ", "")
        if r.get("vs_peer") is not None:
            better_than = (r["vs_peer"] >= 1) if better == "higher" else (r["vs_peer"] <= 1)
            row.append(f"{r['vs_peer']:.2f}× ({mode} vs {labels[r['best_peer']]}) "
                       f"{'better' if better_than else 'worse'}")
        else:
            row.append("-")
        row.append(f"{r['vs_ceiling']:.2f}× ({mode})" if r.get("vs_ceiling") is not None else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def meta_block(result):
    m = result["meta"]
    v = m["versions"]
    lines = [
        f"- command: `{m['command']}` ({m['profile']} profile: {m['rounds']} interleaved rounds, medians with "
        f"(min–max); run took {m['elapsed_s']:.0f} s)",
        f"- date: {m['started']} (UTC)",
        f"- machine: {m['nproc']} cores ({m['cpu_model']}), kernel {m['kernel']}, {m['os']}",
        f"- tessera-lb: commit {v['tessera_lb_commit']}, binary sha256 {v['tessera_lb_sha256'][:16]}…, "
        f"{v['swift']}",
        f"- nginx: {v['nginx']}; HAProxy: {v['haproxy']}; wrk: {v['wrk']}; iperf3: {v['iperf3']}",
        f"- every proxy: {WORKERS} workers/threads, unpinned, round robin over 2 stand-in nodes "
        f"(`tessera-lb stand-in --workers 2`) on 127.0.0.2 and 127.0.0.3; bulk rows go to one iperf3 server "
        f"on 127.0.0.2",
        f"- latency rows: open loop at {m['lat_rate']} req/s over {m['lat_conns']} connections; idle memory: "
        f"{m['idle_conns']} held connections",
    ]
    if m.get("nice"):
        lines.append(f"- the whole bench ran at niceness {m['nice']} (`--nice`)")
    if "foreign_cpu_share" in m:
        f = m["foreign_cpu_share"]
        lines.append(f"- other work on the machine during the run: {100 * f['median']:.0f} % of the CPU in the median "
                     f"cell, {100 * f['max']:.0f} % at most; load average {m['loadavg_start']} at the start, "
                     f"{m['loadavg_end']} at the end")
    return "\n".join(lines)
