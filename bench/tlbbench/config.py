"""Where everything listens, and the settings every contender shares."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")

NODES = ["127.0.0.2", "127.0.0.3"]
NODE_HTTP_PORT = 19101  # each stand-in's Q2T-like HTTP port (not a default Tessera port)
IPERF_HOST = NODES[0]  # iperf3 server: one node only (its control and data connections must meet)
IPERF_PORT = 19301
LISTEN = "127.0.0.1"
BASE_PORT = 19400  # contender i listens on BASE_PORT + 10*i (HTTP) and +1 (bulk)
WORKERS = 2  # every proxy: 2 workers/threads, unpinned
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
