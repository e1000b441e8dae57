"""tlbbench: the package behind bench/run, bench/metrics-cost and bench/failover.

- config: addresses, ports, worker count
- processes: starting and stopping what the bench runs (by process group), /proc readings, the tessera-lb binary,
  the stand-in nodes
- net: listening sockets from /proc/net/tcp, a raw HTTP GET
- contenders: the proxies bench/run compares (LB_MODES: the tessera-lb columns) and their configs
- clients: wrk and iperf3, run and parsed
- workloads: what each row runs and measures (METRICS, PROFILES)
- cells: one cell (a contender through a workload, once) and the log lines that count as problems
- stats: medians, ratios to the peers and the ceiling, variant costs
- report: the markdown table and the run's description; machine: versions and the machine
- chart: the PNG (matplotlib, optional); docs: the generated block of docs/benchmarks.md
- cli: bench/run's command line and the run itself
"""
