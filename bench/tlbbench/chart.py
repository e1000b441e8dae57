"""The chart of a run (PNG, one panel per metric), drawn with matplotlib when it is installed."""

import textwrap

from .workloads import METRICS

def chart(result, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (bench/setup installs it): no chart"
    contenders = result["contenders"]
    rows = [m for m in METRICS if m[0] in result["summary"] and m[3] != "check"]
    if not rows:
        return "no results to chart"
    ncol = 3
    nrow = (len(rows) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 2.6 * nrow), squeeze=False)
    palette = {"ceiling": "#999999", "nginx-stream": "#2ca02c", "nginx-ha": "#98df8a", "haproxy": "#1f77b4"}
    lb_colors = ["#d62728", "#ff7f0e", "#e377c2", "#8c564b", "#9467bd"]
    colors = {}
    i = 0
    for c in contenders:
        if c["id"] in palette:
            colors[c["id"]] = palette[c["id"]]
        else:
            colors[c["id"]] = lb_colors[i % len(lb_colors)]
            i += 1
    for ax, (mid, label, unit, better, wl) in zip(axes.flat, rows):
        per = result["summary"][mid]
        names, med, lo, hi, cols = [], [], [], [], []
        for c in contenders:
            s = per.get(c["id"])
            if not s:
                continue
            names.append(c["label"].replace("tessera-lb ", "lb ").replace(" (ceiling)", ""))
            med.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
            cols.append(colors[c["id"]])
        y = list(range(len(names)))
        ax.barh(y, med, xerr=[lo, hi], color=cols, capsize=2)
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=7)
        ax.invert_yaxis()
        title = label if better == "check" else f"{label} ({better} is better)"
        ax.set_title("\n".join(textwrap.wrap(title, 62)), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    m = result["meta"]
    fig.suptitle(f"tessera-lb vs nginx and HAProxy, {m['nproc']} cores, kernel {m['kernel']}, {m['started']} "
                 f"(medians, bars = min–max of {m['rounds']} round{'s' if m['rounds'] != 1 else ''})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
