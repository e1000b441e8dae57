"""The load clients: wrk (HTTP rows) and iperf3 (bulk rows), run and parsed."""

import json
import re
import subprocess

def run_cmd(argv, timeout):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def parse_wrk(out):
    def num(pattern, default=0.0):
        m = re.search(pattern, out)
        return float(m.group(1)) if m else default

    res = {
        "requests": int(num(r"(\d+) requests in")),
        "seconds": num(r"requests in ([\d.]+)s"),
        "rps": num(r"Requests/sec:\s+([\d.]+)"),
        "non2xx": int(num(r"Non-2xx or 3xx responses: (\d+)")),
    }
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"), m.groups())} if m else {}
    return res


def wrk(targets, conns, seconds, path="/", headers=(), script=None, timeout_s=5):
    """wrk with 2 threads in all; with two targets (the ceiling), one wrk per target, 1 thread and half the
    connections each, run at the same time and summed."""
    threads = 2 if len(targets) == 1 else 1
    per = max(1, conns // len(targets))
    procs = []
    for t in targets:
        argv = ["wrk", "-t", str(threads), "-c", str(per), "-d", f"{max(1, round(seconds))}s", "--timeout", f"{timeout_s}s"]
        for h in headers:
            argv += ["-H", h]
        if script:
            argv += ["-s", script]
        argv.append(f"http://{t}{path}")
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    total = {"requests": 0, "rps": 0.0, "non2xx": 0, "errors": 0, "seconds": 0.0, "raw": []}
    for p in procs:
        try:
            out, _ = p.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        r = parse_wrk(out)
        total["requests"] += r["requests"]
        total["rps"] += r["rps"]
        total["non2xx"] += r["non2xx"]
        total["errors"] += sum(r["socket_errors"].values())
        total["seconds"] = max(total["seconds"], r["seconds"])
        total["raw"].append({k: v for k, v in r.items()})
        if p.returncode != 0 or r["requests"] == 0:
            total["failed"] = out[-500:]
    return total


def iperf3(target, seconds, streams):
    host, port = target.rsplit(":", 1)
    argv = ["iperf3", "-c", host, "-p", port, "-t", str(seconds), "-J", "--connect-timeout", "3000"]
    if streams > 1:
        argv += ["-P", str(streams)]
    rc, out, err = run_cmd(argv, timeout=seconds + 30)
    try:
        j = json.loads(out)
    except json.JSONDecodeError:
        return {"error": (out + err)[-500:]}
    if "error" in j:
        return {"error": j["error"]}
    s = j["end"]["sum_received"]
    return {"gbps": s["bits_per_second"] / 1e9, "bytes": s["bytes"], "seconds": s["seconds"],
            "retransmits": j["end"].get("sum_sent", {}).get("retransmits", 0)}
