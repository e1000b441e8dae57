"""One cell: a contender through a workload, once, with the checks around it (did the proxy come up, stay up, stop
on SIGTERM, log anything unusual; did the client see errors; how much CPU other work took meanwhile)."""

import json
import os
import re
import shutil
import sys
import tempfile
import time

from .config import IPERF_HOST, IPERF_PORT, LISTEN
from .net import http_get, wait_listening
from .processes import busy_cpu_seconds, loadavg, own_cpu_seconds, start, stop, time_wait

# Log lines that are the expected consequence of a workload, counted but not reported as problems.
BENIGN = {
    "*": [r"could not build optimal", r"a client request body is buffered to a temporary file"],
    # iperf3's server ends a test by closing sockets with unread data: the proxy sees a reset.
    "bulk1": [r"reset by peer", r"[Bb]roken pipe", r"ECONNRESET", r"EPIPE"],
    "bulk4": [r"reset by peer", r"[Bb]roken pipe", r"ECONNRESET", r"EPIPE"],
}


def log_problems(path, kind):
    """Lines of a proxy's log that are not routine."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    bad = []
    for line in lines:
        low = line.lower()
        if kind == "lb":
            if " info " in line and "error" not in low and "fail" not in low:
                continue
        elif kind == "peer":
            if not re.search(r"alert|emerg|crit|error|warn|\[wa|\[al|fail", low):
                continue
        bad.append(line)
    return bad


class Run:
    """What the cells of one run share and add to: the temp dir, the workloads' context, the long-running helpers
    (stand-in nodes, the iperf3 server), and the notes, findings, cells and samples collected so far."""

    def __init__(self, tmp, ctx, logs_dir):
        self.tmp, self.ctx, self.logs_dir = tmp, ctx, logs_dir
        self.nodes, self.iperf = [], None
        self.notes, self.lb_findings, self.cells, self.samples = [], [], [], {}

    def helpers(self):
        """pids of the processes that serve every contender (their CPU is the bench's own, not other work's)."""
        return [p.pid for p in self.nodes] + ([self.iperf.pid] if self.iperf else [])

    def restart_iperf(self):
        if self.iperf:
            stop(self.iperf)
        self.iperf = start(["iperf3", "-s", "-B", IPERF_HOST, "-p", str(IPERF_PORT)],
                           os.path.join(self.tmp, "iperf3.log"))
        wait_listening(IPERF_HOST, IPERF_PORT, self.iperf)

    def report(self, c, note):
        """A finding about tessera-lb goes to its own list; anything else to the notes."""
        (self.lb_findings if c.kind == "lb" else self.notes).append(note)
        print("bench: " + note, file=sys.stderr)


def came_up(proc, port, role):
    """Listening, and for HTTP, answering GET / with 200 within 5 s (its health checks have passed)."""
    ok = wait_listening(LISTEN, port, proc)
    if ok and role == "http":
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status, _ = http_get(LISTEN, port)
            if status == 200:
                return True
            time.sleep(0.05)
        return False
    return ok


def run_cell(run, wl, rnd, c, role, fn, seconds, settle):
    """Contender c through workload wl once (round rnd, from 0): start it, measure, stop it, check it; the cell
    goes into run.cells and run.samples (nothing when the proxy did not come up: a note says so)."""
    time.sleep(settle)
    tw, load = time_wait(), loadavg()
    busy0, own0, wall0 = busy_cpu_seconds(), own_cpu_seconds(run.helpers()), time.monotonic()
    cell_dir = tempfile.mkdtemp(prefix=f"{wl}-{c.id}-", dir=run.tmp)
    os.chmod(cell_dir, 0o755)
    log = os.path.join(cell_dir, "proxy.log")
    where = f"{wl} round {rnd + 1}"
    proc = None
    t0 = time.monotonic()
    if c.kind != "ceiling":
        proc = c.start(cell_dir, role, c.port, log)
        if not came_up(proc, c.port, role):
            msg = f"{where}: {c.label} did not come up; log: " + open(log, errors="replace").read()[-400:]
            run.notes.append(msg)
            print("bench: " + msg, file=sys.stderr)
            stop(proc)
            return
    try:
        vals, raw = fn(run.ctx, c.targets(role, c.port), proc, seconds)
    except Exception as e:  # a broken cell must not lose the whole run
        vals, raw = {}, {"error": repr(e)}
    if getattr(proc, "scraper", None):
        proc.scraper.stop()
        raw["metrics_scrapes"] = proc.scraper.summary()
        if proc.scraper.ok == 0 or proc.scraper.failed:
            run.lb_findings.append(f"{where}, {c.label}: /metrics scrapes: " + json.dumps(raw["metrics_scrapes"]))
    cell = {"workload": wl, "round": rnd + 1, "contender": c.id, "values": vals, "raw": raw,
            "time_wait_before": tw, "loadavg_before": load}
    if proc is not None:
        stop_and_check(run, cell, proc, c, wl, where, cell_dir)
    err = raw.get("errors") or raw.get("non2xx") or raw.get("error") or raw.get("failed")
    if err:
        run.report(c, f"{where}, {c.label}: client saw errors: " + json.dumps(
            {k: raw[k] for k in ("errors", "non2xx", "error", "failed", "unanswered") if raw.get(k)})[:400])
    if (cell.get("problems") or err or not cell.get("alive_after", True)) and proc is not None:
        cell["logs"] = keep_logs(run, cell_dir, f"{wl}-r{rnd + 1}-{c.id}")
    cell["seconds"] = round(time.monotonic() - t0, 3)
    # CPU that other work on the machine took during this cell, as a share of all cores.
    foreign = (busy_cpu_seconds() - busy0) - (own_cpu_seconds(run.helpers()) - own0)
    cell["foreign_cpu_share"] = round(max(0.0, foreign) / ((time.monotonic() - wall0) * os.cpu_count()), 3)
    run.cells.append(cell)
    run.samples.setdefault(wl, {}).setdefault(c.id, []).append(cell)
    shown = ", ".join(f"{k}={v:.4g}" for k, v in vals.items())
    print(f"bench: {wl:<9} r{rnd + 1} {c.label:<22} {shown}", file=sys.stderr)
    shutil.rmtree(cell_dir, ignore_errors=True)


def stop_and_check(run, cell, proc, c, wl, where, cell_dir):
    """SIGTERM the proxy and record whether it was still up, how it exited and what it logged."""
    alive = proc.poll() is None
    rc, stop_s, killed = stop(proc)
    cell.update(alive_after=alive, exit_code=rc, stop_seconds=round(stop_s, 3), killed=killed)
    problems = log_problems(os.path.join(cell_dir, "proxy.log"), c.kind) + \
        log_problems(os.path.join(cell_dir, "error.log"), c.kind)
    expected = [p for p in problems if any(re.search(b, p) for b in BENIGN.get(wl, []) + BENIGN["*"])]
    problems = [p for p in problems if p not in expected]
    if expected:
        cell["expected_log_lines"] = len(expected)
    if not alive or killed or problems or (c.kind == "lb" and rc not in (0, -15)):
        what = []
        if not alive:
            what.append(f"exited during the workload (code {rc})")
        if killed:
            what.append("did not stop within 5 s of SIGTERM (killed)")
        if c.kind == "lb" and alive and rc not in (0, -15) and not killed:
            what.append(f"exit code {rc} after SIGTERM")
        if problems:
            what.append(f"{len(problems)} log lines: " + " | ".join(problems[:3])[:600])
        cell["problems"] = problems[:20]
        run.report(c, f"{where}, {c.label}: " + "; ".join(what))


def keep_logs(run, cell_dir, name):
    """Copy the proxy's logs and config of a cell that went wrong next to the results; returns where."""
    keep = os.path.join(run.logs_dir, name)
    os.makedirs(keep, exist_ok=True)
    for f in ("proxy.log", "error.log", "argv", "nginx.conf", "haproxy.cfg"):
        if os.path.exists(os.path.join(cell_dir, f)):
            shutil.copy2(os.path.join(cell_dir, f), keep)
    return keep
