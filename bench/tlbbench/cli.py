"""bench/run's command line and the run: nodes up, every workload through every contender in interleaved rounds,
then the JSON, the table, the chart and (for a full run) docs/benchmarks.md."""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from . import chart, docs, report, stats
from .cells import Run, log_problems, run_cell
from .config import BASE_PORT, BENCH, IPERF_PORT, LISTEN, NODE_HTTP_PORT, NODES, ROOT, WORKERS
from .contenders import LB_MODES, LB_VARIANTS, Ceiling, HAProxy, NginxHA, NginxStream, TesseraLB
from .machine import cpu_model, os_name, versions
from .net import http_get, listening
from .processes import install_cleanup, lb_binary, loadavg, start_stand_ins
from .workloads import METRICS, PROFILES, Ctx, workloads

PROG = "bench/run"


def parser(doc):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="day-to-day run, under 2 minutes")
    g.add_argument("--smoke", action="store_true", help="smallest form: keep-alive only, 1 round, 1 s")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default: 3; smoke 1)")
    ap.add_argument("--workloads", help="comma-separated subset of: " + ",".join(PROFILES["full"]["seconds"]))
    ap.add_argument("--contenders", help="comma-separated subset of contender ids (ceiling, nginx-stream, "
                    "nginx-ha, haproxy, " + ", ".join(m["id"] for m in LB_MODES) + "), or variants that run only "
                    "when named: " + ", ".join(f"{m['id']} (against {m['base']})" for m in LB_VARIANTS))
    ap.add_argument("--lb-binary", help="use this tessera-lb binary instead of running scripts/build-release")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"), help="results directory (default bench/results)")
    ap.add_argument("--write-docs", action="store_true", help="also rewrite docs/benchmarks.md and .png "
                    "(the default for a full run)")
    ap.add_argument("--no-docs", action="store_true", help="never touch docs/ (even for a full run)")
    ap.add_argument("--replot", metavar="RESULT.json", help="only redraw the table and chart of a saved run (and "
                    "docs/, with --write-docs)")
    ap.add_argument("--nice", type=int, default=0, help="run the whole bench (nodes, proxies, clients) at this "
                    "niceness, e.g. -10 as root to push other work on a shared machine aside (default 0)")
    return ap


def replot(args):
    with open(args.replot) as f:
        result = json.load(f)
    md = report.table(result)
    print(report.meta_block(result) + "\n\n" + md)
    if result.get("variant_costs"):
        print("\n" + "\n".join(report.variant_lines(result)))
    png = os.path.join(ROOT, "docs", "benchmarks.png") if args.write_docs else args.replot[:-5] + ".png"
    print(f"chart: {chart.chart(result, png) or png}")
    if args.write_docs:
        print(f"docs: {docs.write_docs(result, md)}")


def choose_profile(ap, args):
    """The profile's settings, with --rounds and --workloads applied."""
    name = "quick" if args.quick else "smoke" if args.smoke else "full"
    prof = json.loads(json.dumps(PROFILES[name]))
    if args.rounds:
        prof["rounds"] = args.rounds
    if args.workloads:
        wanted = args.workloads.split(",")
        unknown = [w for w in wanted if w not in PROFILES["full"]["seconds"]]
        if unknown:
            ap.error(f"unknown workloads: {unknown}")
        prof["seconds"] = {w: prof["seconds"].get(w, PROFILES["full"]["seconds"][w]) for w in wanted}
    return name, prof


def check_clients(prof):
    """The clients the chosen workloads use (bench/loadgen.c is built with gcc for the latency and idle rows)."""
    wl_names = set(prof["seconds"])
    tools = {"iperf3": wl_names & {"bulk1", "bulk4"}, "gcc": wl_names & {"latency", "idle"},
             "wrk": wl_names - {"bulk1", "bulk4", "latency", "idle"}}
    for tool, used_by in tools.items():
        if used_by and shutil.which(tool) is None:
            sys.exit(f"{PROG}: {tool} not found (needed by {', '.join(sorted(used_by))}); run bench/setup first")
    return tools


def choose_contenders(ap, args, binary, notes):
    """Every contender (or those --contenders names, variants included), the ones whose tool is missing left out
    with a note, each given its port."""
    contenders = [Ceiling(), NginxStream(), NginxHA(), HAProxy()] + [TesseraLB(m, binary) for m in LB_MODES]
    if args.contenders:
        keep = args.contenders.split(",")
        contenders += [TesseraLB(m, binary) for m in LB_VARIANTS if m["id"] in keep]
        unknown = [k for k in keep if k not in {c.id for c in contenders}]
        if unknown:
            ap.error(f"unknown contenders: {unknown}")
        contenders = [c for c in contenders if c.id in keep]
    for c in list(contenders):
        if not c.available():
            notes.append(f"{c.label}: not installed, skipped (run bench/setup)")
            contenders.remove(c)
    for i, c in enumerate(contenders):
        c.port = BASE_PORT + 10 * i
    for port in [NODE_HTTP_PORT, IPERF_PORT] + [c.port + k for c in contenders for k in (0, 1, 2)]:
        for h in NODES + [LISTEN]:
            if listening(h, port):
                sys.exit(f"{PROG}: {h}:{port} is already in use; stop whatever listens there")
    return contenders


def drop_unserved_rows(prof, notes):
    """GET /bytes/N (response-direction transfer sizes) only if the stand-in serves it."""
    status, body = http_get(NODES[0], NODE_HTTP_PORT, "/bytes/1024")
    if not (status == 200 and re.search(rb"(?i)content-length: *1024\r\n", body)):
        dropped = [w for w in ("dl1k", "dl64k", "dl1m") if w in prof["seconds"]]
        for w in dropped:
            del prof["seconds"][w]
        if dropped:
            notes.append("the stand-in does not serve GET /bytes/N: response-size rows (" + ", ".join(dropped)
                         + ") skipped")


def run_rounds(run, prof, contenders, wl_defs):
    """For each workload, its rounds; in each round every contender once, the order rotated by one each round."""
    for wl, seconds in prof["seconds"].items():
        role, fn, with_ceiling = wl_defs[wl]
        runners = [c for c in contenders if role in c.roles and (with_ceiling or c.kind != "ceiling")]
        if wl.startswith("syscalls") and shutil.which("perf") is None:
            run.notes.append("perf not installed: system call counts skipped")
            continue
        for rnd in range(prof.get("rounds_for", {}).get(wl, prof["rounds"])):
            k = rnd % len(runners)
            order = runners[k:] + runners[:k]  # interleaved, rotated by one each round
            for c in order:
                run_cell(run, wl, rnd, c, role, fn, seconds, prof["settle"])


def check_nodes(run):
    for p in run.nodes:
        if p.poll() is not None:
            run.lb_findings.append(f"stand-in node exited during the run (code {p.returncode})")
    node_problems = []
    for i in range(len(NODES)):
        node_problems += log_problems(os.path.join(run.tmp, f"standin-{i + 1}.log"), "lb")
    if node_problems:
        run.notes.append("stand-in log: " + " | ".join(node_problems[:5])[:600])


def build_result(run, args, profile_name, prof, contenders, binary, started, load_start, t_start):
    notes, cells = run.notes, run.cells
    result = {
        "meta": {
            "command": PROG + {"full": "", "quick": " --quick", "smoke": " --smoke"}[profile_name]
                       + "".join(f" {a}" for a in sys.argv[1:] if a not in ("--quick", "--smoke")),
            "profile": profile_name, "rounds": prof["rounds"], "settle_s": prof["settle"],
            "seconds": prof["seconds"], "lat_rate": prof["lat_rate"], "lat_conns": prof["lat_conns"],
            "lat_warmup_s": prof["lat_warmup"], "idle_conns": prof["idle_conns"],
            "started": started, "kernel": platform.release(), "nproc": os.cpu_count(), "cpu_model": cpu_model(),
            "os": os_name(), "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
            "versions": versions(binary), "workers": WORKERS, "pinning": "none (all unpinned)",
            "nice": args.nice,
        },
        "contenders": [{"id": c.id, "label": c.label, "kind": c.kind} for c in contenders],
        "metrics": [{"id": m[0], "label": m[1], "unit": m[2], "better": m[3], "workload": m[4]} for m in METRICS],
        "cells": cells,
        "notes": notes,
        "tessera_lb_findings": run.lb_findings,
    }
    result["summary"] = stats.summarize(run.samples, contenders)
    lag = result["summary"].get("lat_lag99", {})
    if lag and max(v["median"] for v in lag.values()) > 200:
        notes.append("the latency client itself sent up to %.0f µs late (p99, median of rounds): the machine was busy, "
                     "and the latency rows measure that more than the proxies" % max(v["median"] for v in lag.values()))
    result["ratios"] = stats.ratios(result["summary"], contenders)
    result["variant_costs"] = stats.variant_costs(run.samples, contenders)
    result["meta"]["elapsed_s"] = time.monotonic() - t_start
    result["meta"]["loadavg_start"], result["meta"]["loadavg_end"] = load_start, loadavg()
    shares = sorted(c["foreign_cpu_share"] for c in cells)
    if shares:
        result["meta"]["foreign_cpu_share"] = {"median": statistics.median(shares), "max": shares[-1]}
    return result


def write_results(result, out, base, profile_name, write_docs_too):
    """The JSON and .md next to each other (and latest-<profile>.json), the table and notes on stdout, the chart
    next to them or, with write_docs_too, into docs/ with the generated block of docs/benchmarks.md."""
    md = report.table(result)
    os.makedirs(out, exist_ok=True)
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    with open(base + ".md", "w") as f:
        f.write(report.meta_block(result) + "\n\n" + md + "\n")
        if result["variant_costs"]:
            f.write("\n" + "\n".join(report.variant_lines(result)) + "\n")
    shutil.copy2(base + ".json", os.path.join(out, f"latest-{profile_name}.json"))
    print(report.meta_block(result))
    print()
    print(md)
    if result["variant_costs"]:
        print()
        print("\n".join(report.variant_lines(result)))
    if result["notes"] or result["tessera_lb_findings"]:
        print("\nnotes:")
        for n in result["tessera_lb_findings"] + result["notes"]:
            print(f"- {n}")
    print(f"\nresults: {base}.json, {base}.md")
    if write_docs_too:
        problem = chart.chart(result, os.path.join(ROOT, "docs", "benchmarks.png"))
        if problem:
            print(f"chart: {problem}", file=sys.stderr)
        print(f"docs: {docs.write_docs(result, md)}")
    else:
        png = base + ".png"
        problem = chart.chart(result, png)
        print(f"chart: {problem or png}")


def main(doc):
    ap = parser(doc)
    args = ap.parse_args()
    if args.replot:
        replot(args)
        return
    profile_name, prof = choose_profile(ap, args)
    write_docs_too = (profile_name == "full" or args.write_docs) and not args.no_docs

    if args.nice:
        os.nice(args.nice)  # inherited by every process the bench starts
    install_cleanup()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    t_start = time.monotonic()
    load_start = loadavg()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    tools = check_clients(prof)

    tmp = tempfile.mkdtemp(prefix="tessera-bench-")
    os.chmod(tmp, 0o755)  # nginx workers run as nobody and write their temp files here
    atexit.register(lambda: shutil.rmtree(tmp, ignore_errors=True))

    # The tessera-lb under test: the one release build, copied so a rebuild during the run cannot swap it.
    binary = os.path.join(tmp, "tessera-lb")
    shutil.copy2(lb_binary(args.lb_binary, PROG), binary)
    loadgen = None
    if tools["gcc"]:
        loadgen = os.path.join(tmp, "loadgen")
        subprocess.run(["gcc", "-O2", "-o", loadgen, os.path.join(BENCH, "loadgen.c")], check=True)

    notes = []
    contenders = choose_contenders(ap, args, binary, notes)
    ctx = Ctx()
    ctx.tmp, ctx.loadgen = tmp, loadgen
    ctx.idle_conns, ctx.lat_rate = prof["idle_conns"], prof["lat_rate"]
    ctx.lat_conns, ctx.lat_warmup = prof["lat_conns"], prof["lat_warmup"]
    base = os.path.join(args.out, f"{stamp}-{profile_name}")
    run = Run(tmp, ctx, base + "-logs")
    run.notes = notes
    ctx.restart_iperf = run.restart_iperf

    # The nodes: two stand-ins (the same for every contender), one iperf3 server.
    run.nodes = start_stand_ins(binary, tmp, {"q2t": NODE_HTTP_PORT}, PROG)
    drop_unserved_rows(prof, notes)
    wl_defs = workloads(ctx)
    if any(wl_defs[w][0] == "bulk" for w in prof["seconds"]):
        run.restart_iperf()

    run_rounds(run, prof, contenders, wl_defs)
    check_nodes(run)
    result = build_result(run, args, profile_name, prof, contenders, binary, started, load_start, t_start)
    write_results(result, args.out, base, profile_name, write_docs_too)
    print(f"elapsed: {time.monotonic() - t_start:.0f} s", file=sys.stderr)
