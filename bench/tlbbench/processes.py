"""What the bench starts and how it stops it, /proc readings of those processes and of the machine, and the two
things every bench command starts first: the tessera-lb binary and the stand-in nodes."""

import atexit
import os
import resource
import signal
import subprocess
import sys
import time

from . import config
from .net import wait_listening

# ---------------------------------------------------------------------------------------------------------------
# Process bookkeeping: everything we start, we stop, by its own id (each child leads its own process group).

STARTED = []


def start(argv, log_path, **kw):
    log = open(log_path, "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, **kw)
    log.close()
    STARTED.append(p)
    return p


def stop(p, timeout=5.0):
    """SIGTERM the process group led by p; SIGKILL after timeout. Returns (exit code, seconds to stop, killed)."""
    t0 = time.monotonic()
    killed = False
    if getattr(p, "scraper", None):
        p.scraper.stop()
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)
    # Workers of a process group may outlive their leader for a moment (nginx): reap the group.
    for _ in range(50):
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if p in STARTED:
        STARTED.remove(p)
    return p.returncode, time.monotonic() - t0, killed


def stop_all():
    for p in list(STARTED):
        try:
            stop(p, timeout=3)
        except Exception:
            pass


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def install_cleanup():
    """Stop everything started here on exit and on SIGINT/SIGTERM."""
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(stop_all)


# ---------------------------------------------------------------------------------------------------------------
# /proc readings

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_tree(root):
    """root and all its descendants (nginx master and workers)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(root):
    """utime+stime of root and its descendants (each a whole thread group: all threads included)."""
    total = 0
    for pid in proc_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        total += int(rest[11]) + int(rest[12])
    return total / CLK_TCK


def rss_kib(root):
    total = 0
    for pid in proc_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _entries(root, directory):
    """Entries of /proc/PID/<directory> summed over the process tree led by root (processes that end meanwhile
    count 0)."""
    n = 0
    for pid in proc_tree(root):
        try:
            n += len(os.listdir(f"/proc/{pid}/{directory}"))
        except OSError:
            pass
    return n


def thread_count(root):
    return _entries(root, "task")


def kill(p):
    """SIGKILL the process group led by p (a crash, not a stop), then reap it as `stop` does."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return stop(p)


def fd_count(root):
    return _entries(root, "fd")


def time_wait():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("tw") + 1])
    return -1


def busy_cpu_seconds():
    """CPU time the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def own_cpu_seconds(extra_pids):
    """CPU time of this script, its reaped children (clients, stopped proxies) and the long-running helpers."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime + sum(cpu_seconds(p) for p in extra_pids)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------------------------------------------------------
# The binary and the nodes

def lb_binary(given, prog):
    """The tessera-lb to measure: `given` (--lb-binary), or the one release build from scripts/build-release."""
    if given:
        return given
    print("bench: building tessera-lb (scripts/build-release)", file=sys.stderr)
    r = subprocess.run([os.path.join(config.ROOT, "scripts", "build-release")], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{prog}: scripts/build-release failed")
    return r.stdout.strip().splitlines()[-1]


def start_stand_ins(binary, tmp, ports, prog, extra=()):
    """One stand-in Tessera node (`tessera-lb stand-in --workers 2`) on each of config.NODES, named n1, n2, ...,
    serving `ports` ({"q2t": 19101, ...}); waits until each listens on all of them. Logs in tmp."""
    nodes = []
    for i, h in enumerate(config.NODES):
        argv = [binary, "stand-in", "--host", h, "--name", f"n{i + 1}"]
        for name, port in ports.items():
            argv += ["--port", f"{name}={port}"]
        p = start(argv + list(extra) + ["--workers", "2"], os.path.join(tmp, f"standin-{i + 1}.log"))
        nodes.append(p)
        if not all(wait_listening(h, port, p) for port in ports.values()):
            sys.exit(f"{prog}: stand-in on {h} did not start")
    return nodes
