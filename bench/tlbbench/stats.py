"""From cells to figures: medians with min and max per metric and contender, tessera-lb's best against the best
peer and the ceiling, and each variant against its base column."""

import statistics

from .workloads import METRICS

def summarize(samples, contenders):
    summary = {}
    for mid, label, unit, better, wl in METRICS:
        per = {}
        for c in contenders:
            vals = [s["values"][mid] for s in samples.get(wl, {}).get(c.id, []) if mid in s["values"]]
            if vals:
                per[c.id] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}
        if per:
            summary[mid] = per
    return summary


def ratios(summary, contenders):
    out = {}
    lbs = [c for c in contenders if c.kind == "lb" and not getattr(c, "base", None)]
    peers = [c for c in contenders if c.kind == "peer"]
    for mid, label, unit, better, wl in METRICS:
        per = summary.get(mid)
        if not per or better == "check":
            continue
        pick = max if better == "higher" else min
        lb = [(per[c.id]["median"], c) for c in lbs if c.id in per]
        pe = [(per[c.id]["median"], c) for c in peers if c.id in per]
        r = {}
        if lb:
            v, c = pick(lb, key=lambda x: x[0])
            r.update(best_lb=c.id, best_lb_value=v)
            if pe:
                pv, pc = pick(pe, key=lambda x: x[0])
                r.update(best_peer=pc.id, best_peer_value=pv, vs_peer=(v / pv if pv else None))
            if "ceiling" in per and per["ceiling"]["median"]:
                r["vs_ceiling"] = v / per["ceiling"]["median"]
        out[mid] = r
    return out


def variant_costs(samples, contenders):
    """Each variant against its base column, paired by round (both ran in the same round, next to each other):
    the median, min and max of variant ÷ base per metric."""
    out = {}
    ids = {c.id for c in contenders}
    for c in contenders:
        base = getattr(c, "base", None)
        if not base or base not in ids:
            continue
        per = {}
        for mid, label, unit, better, wl in METRICS:
            mine = {s["round"]: s["values"][mid] for s in samples.get(wl, {}).get(c.id, []) if mid in s["values"]}
            theirs = {s["round"]: s["values"][mid] for s in samples.get(wl, {}).get(base, []) if mid in s["values"]}
            paired = [mine[r] / theirs[r] for r in sorted(mine) if r in theirs and theirs[r]]
            if paired:
                per[mid] = {"label": label, "better": better, "ratio_median": statistics.median(paired),
                            "ratio_min": min(paired), "ratio_max": max(paired), "ratios": paired,
                            "variant_median": statistics.median(mine.values()),
                            "base_median": statistics.median(theirs.values())}
        if per:
            out[c.id] = {"base": base, "metrics": per}
    return out
