"""The contenders bench/run compares. Each starts a process (or none, for the ceiling) listening on (LISTEN, port),
forwarding role "http" to both nodes' HTTP port and role "bulk" to the one iperf3 server, with its config
generated into the cell's temp dir."""

import os
import shutil
import subprocess
import sys
import threading
import time

from .config import IPERF_HOST, IPERF_PORT, LISTEN, NGINX_STREAM_MODULE, NODE_HTTP_PORT, NODES, WORKERS
from .net import http_get, wait_listening
from .processes import start

# tessera-lb columns: one entry each (engine x forwarding mode).
LB_MODES = [
    {"id": "lb-copy", "label": "tessera-lb epoll copy", "args": ["--engine", "epoll", "--forward", "copy"]},
    {"id": "lb-auto", "label": "tessera-lb epoll auto", "args": ["--engine", "epoll", "--forward", "auto"]},
    {"id": "lb-uring-copy", "label": "tessera-lb io_uring copy", "args": ["--engine", "io_uring", "--forward", "copy"]},
    {"id": "lb-uring", "label": "tessera-lb io_uring auto", "args": ["--engine", "io_uring", "--forward", "auto"]},
]

# Variants that run only when named in --contenders, each measured against the column it varies (`base`) and
# left out of the ratios to the peers. lb-auto-metrics is issue 7's check that metrics cost less than 2 % of
# throughput: the same binary and flags as lb-auto (which runs with --admin off), with the admin listener on and
# /metrics scraped every 100 ms while the client runs (150 times as often as Prometheus' default of 15 s).
LB_VARIANTS = [
    {"id": "lb-auto-metrics", "label": "tessera-lb epoll auto, /metrics every 100 ms", "args": ["--engine", "epoll", "--forward", "auto"],
     "base": "lb-auto", "scrape_ms": 100},
    # Issue 21: what partyinfo mirroring's framing costs on P2P traffic. The service is named p2p, so every
    # connection is framed as HTTP/1.1 (client-to-node bytes through user space); the base column's service is
    # not p2p, so it is pure L4. The group check (on wherever a p2p service exists) is off: not what is measured.
    {"id": "lb-auto-p2p", "label": "tessera-lb epoll auto, p2p framed (mirroring on)",
     "args": ["--engine", "epoll", "--forward", "auto", "--mirror-partyinfo", "on", "--group-check-interval", "0"],
     "base": "lb-auto", "service": "p2p"},
    {"id": "lb-uring-p2p", "label": "tessera-lb io_uring auto, p2p framed (mirroring on)",
     "args": ["--engine", "io_uring", "--forward", "auto", "--mirror-partyinfo", "on", "--group-check-interval", "0"],
     "base": "lb-uring", "service": "p2p"},
]


class Scraper(threading.Thread):
    """GETs http://host:port/metrics every `interval` seconds, from when the admin listener is up until stopped, and
    counts what it got. A fresh connection each time (Prometheus keeps its connection open, so this errs on the
    expensive side: an accept and a close more per scrape)."""

    def __init__(self, host, port, interval):
        super().__init__(daemon=True)
        self.host, self.port, self.interval = host, port, interval
        self.done = threading.Event()
        self.ok, self.failed, self.last_bytes, self.last_error = 0, 0, 0, None

    def run(self):
        if not wait_listening(self.host, self.port, timeout=10):
            self.last_error = "admin listener not up within 10 s"
            return
        next_at = time.monotonic()
        while not self.done.is_set():
            status, body = http_get(self.host, self.port, "/metrics", timeout=2.0)
            if status == 200 and b"tessera_lb_" in body:
                self.ok += 1
                self.last_bytes = len(body)
            else:
                self.failed += 1
                self.last_error = f"status {status}, {len(body)} bytes"
            next_at += self.interval
            self.done.wait(max(0.0, next_at - time.monotonic()))

    def stop(self):
        self.done.set()
        self.join(5)

    def summary(self):
        return {"scrapes": self.ok, "failed": self.failed, "bytes": self.last_bytes, "interval_s": self.interval,
                "error": self.last_error}


# ---------------------------------------------------------------------------------------------------------------

def upstreams(role):
    if role == "http":
        return [(h, NODE_HTTP_PORT) for h in NODES]
    return [(IPERF_HOST, IPERF_PORT)]


class Ceiling:
    id, label, kind = "ceiling", "no proxy (ceiling)", "ceiling"
    roles = ("http", "bulk")

    def available(self):
        return True

    def targets(self, role, port):
        return [f"{h}:{p}" for h, p in upstreams(role)]


class Proxy:
    kind = "peer"
    roles = ("http", "bulk")

    def targets(self, role, port):
        return [f"{LISTEN}:{port}"]


class NginxStream(Proxy):
    id, label = "nginx-stream", "nginx stream"

    def available(self):
        return shutil.which("nginx") is not None and os.path.exists(NGINX_STREAM_MODULE)

    def start(self, d, role, port, log):
        ups = "\n".join(f"        server {h}:{p} max_fails=3 fail_timeout=5s;" for h, p in upstreams(role))
        conf = f"""load_module {NGINX_STREAM_MODULE};
daemon off;
master_process on;
worker_processes {WORKERS};
worker_rlimit_nofile 19000;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 10000; }}
stream {{
    upstream nodes {{
{ups}
    }}
    server {{
        listen {LISTEN}:{port} backlog=4096;
        proxy_pass nodes;
    }}
}}
"""
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(conf)
        return start(["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-e", f"{d}/error.log"], log)


class NginxHA(Proxy):
    """The http block of Tessera's HA guide (docs.tessera.consensys.net, "High availability"): upstreams with
    max_fails=3 fail_timeout=5s, `location / { proxy_pass http://upstream; }`, no other http settings (so nginx's
    defaults: access log on, HTTP/1.0 without keep-alive to the node, request bodies buffered). `health_check` is
    NGINX Plus only and left out. Only the Q2T server block is generated; the other two are the same shape."""
    id, label = "nginx-ha", "nginx HA-guide http"
    roles = ("http",)

    def available(self):
        return shutil.which("nginx") is not None

    def start(self, d, role, port, log):
        ups = "\n".join(f"        server {h}:{p} max_fails=3 fail_timeout=5s;" for h, p in upstreams(role))
        conf = f"""daemon off;
master_process on;
worker_processes {WORKERS};
worker_rlimit_nofile 19000;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 10000; }}
http {{
    # harness: keep nginx's files in the run's temp dir (the guide leaves these at the package defaults)
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    access_log {d}/access.log;

    # as in the guide
    upstream tessera_q2t_9101 {{
{ups}
    }}
    server {{
        listen {LISTEN}:{port} backlog=4096;
        location / {{
            proxy_pass http://tessera_q2t_9101;
        }}
    }}
}}
"""
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(conf)
        return start(["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-e", f"{d}/error.log"], log)


class HAProxy(Proxy):
    id, label = "haproxy", "HAProxy tcp+splice"

    def available(self):
        return shutil.which("haproxy") is not None

    def start(self, d, role, port, log):
        servers = "\n".join(
            f"    server n{i + 1} {h}:{p} check port {NODE_HTTP_PORT} inter 2s fall 3 rise 2"
            for i, (h, p) in enumerate(upstreams(role) if role == "http" else [(IPERF_HOST, IPERF_PORT)]))
        conf = f"""global
    nbthread {WORKERS}
    maxconn 6000
    pidfile {d}/haproxy.pid

defaults
    mode tcp
    maxconn 6000
    timeout connect 2s
    timeout client 5m
    timeout server 5m
    option splice-request
    option splice-response

frontend fe
    bind {LISTEN}:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk
    http-check send meth GET uri /upcheck
    http-check expect status 200
{servers}
"""
        with open(f"{d}/haproxy.cfg", "w") as f:
            f.write(conf)
        return start(["haproxy", "-db", "-f", f"{d}/haproxy.cfg"], log)


class TesseraLB(Proxy):
    kind = "lb"

    def __init__(self, mode, binary):
        self.id, self.label, self.args, self.binary = mode["id"], mode["label"], mode["args"], binary
        self.base, self.scrape_ms = mode.get("base"), mode.get("scrape_ms")
        self.service = mode.get("service")  # the service's name, when not the role's
        self.has_admin = False
        # The active health probe (where the build has one) checks the stand-in's HTTP port, like HAProxy's
        # `check port` and the HA guide's `health_check port=9000 uri=/upcheck`: the bulk service's node port is
        # iperf3, which does not speak HTTP.
        self.health_args = []
        if binary:
            h = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
            if "--health-port" in h:
                self.health_args = ["--health-port", str(NODE_HTTP_PORT)]
            # The admin listener (status page, metrics) is not on the data path, and its default port may be
            # taken by another tessera-lb on the machine: off, but in the variants that measure what it costs.
            self.has_admin = "--admin <" in h

    def available(self):
        return self.binary is not None and (self.has_admin or not self.scrape_ms)

    def admin_port(self, port):
        return port + 2

    def start(self, d, role, port, log):
        nodes = NODES if role == "http" else [IPERF_HOST]
        node_port = NODE_HTTP_PORT if role == "http" else IPERF_PORT
        argv = [self.binary, "run", "--listen", LISTEN, "--workers", str(WORKERS), "--balance", "roundrobin"]
        for n in nodes:
            argv += ["--node", n]
        argv += ["--service", f"{self.service or role}={port}:{node_port}"] + self.health_args + self.args
        if self.scrape_ms:
            argv += ["--admin", f"{LISTEN}:{self.admin_port(port)}"]
        elif self.has_admin:
            argv += ["--admin", "off"]
        with open(f"{d}/argv", "w") as f:
            f.write(" ".join(argv) + "\n")
        p = start(argv, log)
        if self.scrape_ms:
            p.scraper = Scraper(LISTEN, self.admin_port(port), self.scrape_ms / 1000)
            p.scraper.start()
        return p


def choose(ids, binary, prog, extra_modes=()):
    """The contenders named in `ids` (comma-separated: nginx-stream, haproxy and the tessera-lb modes of LB_MODES
    and `extra_modes`) that this machine has, for the scripts beside bench/run (syscalls/, profile/); exits
    naming `prog` on an unknown id."""
    known = {"nginx-stream": NginxStream(), "haproxy": HAProxy()}
    for mode in list(LB_MODES) + list(extra_modes):
        known[mode["id"]] = TesseraLB(mode, binary)
    out = []
    for cid in ids.split(","):
        if cid not in known:
            sys.exit(f"{prog}: unknown contender {cid} (known: {', '.join(known)})")
        if known[cid].available():
            out.append(known[cid])
        else:
            print(f"{prog}: {cid} not available here, left out", file=sys.stderr)
    return out
