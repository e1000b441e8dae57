"""The workloads (what each row runs), the metrics (the table's rows) and the profiles (seconds per cell, rounds).
A workload is a function (ctx, targets, proc, seconds) -> (metric values, raw details); proc is the contender's
process (None for the ceiling), targets the host:port strings the client sends to."""

import json
import os
import subprocess
import time

from .clients import iperf3, run_cmd, wrk
from .processes import cpu_seconds, fd_count, proc_tree, rss_kib

class Ctx:
    """What the workloads share in a run: tmp (the run's temp dir), loadgen (bench/loadgen.c built, or None),
    idle_conns, lat_rate, lat_conns, lat_warmup (from the profile) and restart_iperf()."""


def metric_cpu(proc, fn):
    c0 = cpu_seconds(proc.pid) if proc else None
    r = fn()
    c1 = cpu_seconds(proc.pid) if proc else None
    return r, (None if proc is None else c1 - c0)


def w_wrk(conns, path="/", headers=(), key="rps", cpu_key=None, script_body=None, response_bytes=None):
    def fn(ctx, targets, proc, seconds):
        script = None
        if script_body is not None:
            script = os.path.join(ctx.tmp, f"post-{script_body}.lua")
            if not os.path.exists(script):
                with open(script, "w") as f:
                    f.write('wrk.method = "POST"\n'
                            f'wrk.body = string.rep("x", {script_body})\n'
                            'wrk.headers["Content-Type"] = "application/octet-stream"\n')
        r, cpu = metric_cpu(proc, lambda: wrk(targets, conns, seconds, path, headers, script))
        vals = {}
        if r["requests"] > 0:
            if script_body is not None:
                vals[key] = r["rps"] * script_body * 8 / 1e9
            elif response_bytes is not None:
                vals[key] = r["rps"] * response_bytes * 8 / 1e9
            else:
                vals[key] = r["rps"]
            if cpu_key and cpu is not None:
                vals[cpu_key] = cpu * 1000 / (r["requests"] / 100000)
        raw = {"requests": r["requests"], "rps": r["rps"], "non2xx": r["non2xx"], "errors": r["errors"],
               "cpu_s": cpu}
        if "failed" in r:
            raw["failed"] = r["failed"]
        return vals, raw
    return fn


def w_bulk(streams, key, cpu_key):
    def fn(ctx, targets, proc, seconds):
        r, cpu = metric_cpu(proc, lambda: iperf3(targets[0], seconds, streams))
        if "error" in r:
            # A failed test can leave the iperf3 server waiting on a dead control connection: restart it.
            try:
                with open(os.path.join(ctx.tmp, "iperf3.log"), errors="replace") as f:
                    server_log = f.read()[-600:]
            except OSError:
                server_log = ""
            ctx.restart_iperf()
            return {}, {"error": r["error"], "cpu_s": cpu, "iperf3_server_log": server_log}
        vals = {key: r["gbps"]}
        if cpu is not None and r["bytes"] > 0:
            vals[cpu_key] = cpu * 1000 / (r["bytes"] / 2**30)
        r["cpu_s"] = cpu
        return vals, r
    return fn


def w_latency(ctx, targets, proc, seconds):
    # The client must keep to its schedule for the figures to mean anything. It needs a tenth of a core at this
    # rate; as root it runs at a higher priority (nice -10) so that other work on the machine (a build) does not
    # delay its sends. The proxies and nodes keep the priority they share with everything else.
    prio = ["nice", "-n", "-10"] if os.geteuid() == 0 else []
    argv = prio + [ctx.loadgen, "latency", "--conns", str(ctx.lat_conns), "--rate", str(ctx.lat_rate),
            "--duration", str(seconds), "--warmup", str(ctx.lat_warmup)]
    for t in targets:
        argv += ["--target", t]
    rc, out, err = run_cmd(argv, timeout=seconds + ctx.lat_warmup + 30)
    try:
        r = json.loads(out.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {}, {"error": (out + err)[-500:]}
    vals = {}
    if r["measured"] > 0:
        vals = {"lat_p50": r["p50_us"], "lat_p99": r["p99_us"], "lat_p999": r["p999_us"],
                "lat_lag99": r["send_lag_p99_us"]}
    return vals, r


SYSCALLS = ["read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "splice",
            "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "accept4", "connect", "socket", "close",
            "shutdown", "setsockopt", "getsockopt", "getsockname", "ioctl", "fcntl", "pipe2", "futex", "io_uring_enter",
            "sched_yield", "nanosleep", "clock_nanosleep", "timerfd_settime"]


def w_syscalls(headers=(), key="sys_per_req"):
    """System calls the proxy makes per request (perf counting the syscall tracepoints of all its threads and
    processes while wrk runs as in the keep-alive row, or with `Connection: close` as in the new-connection row,
    where each request is one new connection). A diagnostic: perf adds a little cost."""
    def run(ctx, targets, proc, seconds):
        pids = ",".join(str(p) for p in proc_tree(proc.pid))
        events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in SYSCALLS]
        events = [e for e in events if e == "raw_syscalls:sys_enter" or os.path.exists(
            "/sys/kernel/tracing/events/syscalls/" + e.split(":")[1])]
        perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", ",".join(events), "-p", pids, "--", "sleep",
                                 str(seconds + 0.3)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.1)
        r = wrk(targets, 64, seconds, headers=headers)
        try:
            _, err = perf.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            perf.kill()
            return {}, {"error": "perf did not finish"}
        counts = {}
        for line in err.splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[0].strip().isdigit():
                counts[parts[2].split(":")[-1].replace("sys_enter_", "")] = int(parts[0])
        if not counts.get("sys_enter") or r["requests"] == 0:
            return {}, {"error": "no perf counts: " + err[-300:], "requests": r["requests"]}
        per = {k: v / r["requests"] for k, v in counts.items() if v}
        vals = {key: per.pop("sys_enter")}
        return vals, {"requests": r["requests"], "per_request": per, "errors": r["errors"], "non2xx": r["non2xx"]}
    return run


def w_idle_memory(ctx, targets, proc, seconds):
    def hold(n):
        argv = [ctx.loadgen, "hold", "--conns", str(n), "--timeout", "30"]
        for t in targets:
            argv += ["--target", t]
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ready(h):
        line = h.stdout.readline()
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"ready": 0, "failed": -1, "error": line}

    def release(h):
        try:
            h.stdin.close()
            rest = h.stdout.read()
            h.wait(30)
        except subprocess.TimeoutExpired:
            h.kill()
            rest = ""
        return rest

    # Warm up (first connections allocate pools, buffers, thread caches), then take the baseline.
    h = hold(32)
    ready(h)
    release(h)
    time.sleep(0.3)
    rss0, fd0 = rss_kib(proc.pid), fd_count(proc.pid)
    h = hold(ctx.idle_conns)
    r = ready(h)
    time.sleep(0.5)
    rss1, fd1 = rss_kib(proc.pid), fd_count(proc.pid)
    rest = release(h)
    held = r.get("ready", 0)
    raw = {"hold": r, "rss_before_kib": rss0, "rss_held_kib": rss1, "fds_before": fd0, "fds_held": fd1,
           "release": rest.strip()}
    if held < ctx.idle_conns * 0.95:
        return {}, raw
    return {"mem_idle": (rss1 - rss0) / held, "fds_idle": (fd1 - fd0) / held, "rss_rest": rss0}, raw


# ---------------------------------------------------------------------------------------------------------------
# Metrics (table rows) and workloads (what runs).

METRICS = [
    # id, label, unit, better, workload
    ("ka_rps", "keep-alive requests/s (wrk, 64 conns, ~1 KiB JSON)", "req/s", "higher", "keepalive"),
    ("ka_cpu", "proxy CPU ms per 100k keep-alive requests", "ms", "lower", "keepalive"),
    ("close_rps", "new connection per request, requests/s (wrk, Connection: close, 64 conns)", "req/s", "higher",
     "close"),
    ("close_cpu", "proxy CPU ms per 100k new connections", "ms", "lower", "close"),
    ("c512_rps", "keep-alive requests/s at 512 conns", "req/s", "higher", "conns512"),
    ("c4096_rps", "keep-alive requests/s at 4,096 conns", "req/s", "higher", "conns4096"),
    ("bulk1_gbps", "one bulk stream (iperf3), Gbit/s", "Gbit/s", "higher", "bulk1"),
    ("bulk1_cpu", "proxy CPU ms per GiB, one stream", "ms", "lower", "bulk1"),
    ("bulk4_gbps", "four bulk streams (iperf3 -P 4), Gbit/s", "Gbit/s", "higher", "bulk4"),
    ("bulk4_cpu", "proxy CPU ms per GiB, four streams", "ms", "lower", "bulk4"),
    ("lat_p50", "latency p50 at fixed rate, µs", "µs", "lower", "latency"),
    ("lat_p99", "latency p99 at fixed rate, µs", "µs", "lower", "latency"),
    ("lat_p999", "latency p99.9 at fixed rate, µs", "µs", "lower", "latency"),
    ("lat_lag99", "(check) the latency client's own send lag p99, µs: must stay far below the rows above", "µs",
     "check", "latency"),
    ("x1k_gbps", "1 KiB POST transfers (wrk, 16 conns), Gbit/s", "Gbit/s", "higher", "xfer1k"),
    ("x64k_gbps", "64 KiB POST transfers (wrk, 16 conns), Gbit/s", "Gbit/s", "higher", "xfer64k"),
    ("x1m_gbps", "1 MiB POST transfers (wrk, 16 conns), Gbit/s", "Gbit/s", "higher", "xfer1m"),
    ("d1k_gbps", "1 KiB responses (wrk GET /bytes/1024, 16 conns), Gbit/s", "Gbit/s", "higher", "dl1k"),
    ("d64k_gbps", "64 KiB responses (wrk GET /bytes/65536, 16 conns), Gbit/s", "Gbit/s", "higher", "dl64k"),
    ("d1m_gbps", "1 MiB responses (wrk GET /bytes/1048576, 16 conns), Gbit/s", "Gbit/s", "higher", "dl1m"),
    ("mem_idle", "resident KiB per idle proxied connection", "KiB", "lower", "idle"),
    ("fds_idle", "file descriptors per idle proxied connection", "fds", "lower", "idle"),
    ("rss_rest", "proxy resident KiB at rest (after a 32-connection warm-up)", "KiB", "lower", "idle"),
    ("sys_per_req", "system calls per keep-alive request (perf, 64 conns; one round)", "calls", "lower", "syscalls"),
    ("sys_per_conn", "system calls per new connection (perf, Connection: close, 64 conns; one round)", "calls",
     "lower", "syscalls_close"),
]


def workloads(ctx):
    # name -> (role, function, whether the ceiling runs it, seconds)
    return {
        "keepalive": ("http", w_wrk(64, key="ka_rps", cpu_key="ka_cpu"), True),
        "close": ("http", w_wrk(64, headers=("Connection: close",), key="close_rps", cpu_key="close_cpu"), True),
        "conns512": ("http", w_wrk(512, key="c512_rps"), True),
        "conns4096": ("http", w_wrk(4096, key="c4096_rps"), True),
        "bulk1": ("bulk", w_bulk(1, "bulk1_gbps", "bulk1_cpu"), True),
        "bulk4": ("bulk", w_bulk(4, "bulk4_gbps", "bulk4_cpu"), True),
        "latency": ("http", w_latency, True),
        "xfer1k": ("http", w_wrk(16, key="x1k_gbps", script_body=1024), True),
        "xfer64k": ("http", w_wrk(16, key="x64k_gbps", script_body=65536), True),
        "xfer1m": ("http", w_wrk(16, key="x1m_gbps", script_body=1048576), True),
        # Response-direction sizes: only where the stand-in serves GET /bytes/N (N bytes of body); see README.
        "dl1k": ("http", w_wrk(16, path="/bytes/1024", key="d1k_gbps", response_bytes=1024), True),
        "dl64k": ("http", w_wrk(16, path="/bytes/65536", key="d64k_gbps", response_bytes=65536), True),
        "dl1m": ("http", w_wrk(16, path="/bytes/1048576", key="d1m_gbps", response_bytes=1048576), True),
        "idle": ("http", w_idle_memory, False),
        "syscalls": ("http", w_syscalls(), False),
        "syscalls_close": ("http", w_syscalls(("Connection: close",), "sys_per_conn"), False),
    }


PROFILES = {
    # seconds per cell for each workload (wrk takes whole seconds); rounds; settle seconds before each cell
    "full": {"rounds": 3, "settle": 0.3, "idle_conns": 4000, "lat_rate": 5000, "lat_conns": 32, "lat_warmup": 0.5,
             "seconds": {"keepalive": 3, "close": 2, "conns512": 2, "conns4096": 3, "bulk1": 2, "bulk4": 2,
                         "latency": 3, "xfer1k": 1, "xfer64k": 1, "xfer1m": 1, "dl1k": 1, "dl64k": 1, "dl1m": 1,
                         "idle": 0, "syscalls": 3, "syscalls_close": 3},
             "rounds_for": {"syscalls": 1, "syscalls_close": 1}},
    "quick": {"rounds": 3, "settle": 0.1, "idle_conns": 1000, "lat_rate": 5000, "lat_conns": 32, "lat_warmup": 0.2,
              "seconds": {"keepalive": 2, "bulk1": 1, "latency": 0.6}},
    "smoke": {"rounds": 1, "settle": 0.1, "idle_conns": 100, "lat_rate": 2000, "lat_conns": 8, "lat_warmup": 0.1,
              "seconds": {"keepalive": 1}},
}
