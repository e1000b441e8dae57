"""What the run ran on: versions of tessera-lb and the tools, the CPU, the OS."""

import hashlib
import platform
import subprocess

from .config import ROOT

def first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        out = (r.stdout + r.stderr).strip().splitlines()
        return out[0] if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def versions(binary):
    def git(*a):
        r = subprocess.run(["git", "-C", ROOT] + list(a), capture_output=True, text=True)
        return r.stdout.strip()
    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "Sources", "CShims", "Package.swift")
    sha = hashlib.sha256(open(binary, "rb").read()).hexdigest() if binary else "-"
    return {
        "tessera_lb_commit": commit + (" + uncommitted changes in Sources/CShims/Package.swift" if dirty else ""),
        "tessera_lb_sha256": sha,
        "swift": first_line(["swift", "--version"]),
        "nginx": first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "haproxy": first_line(["haproxy", "-v"]),
        "wrk": first_line(["wrk", "-v"]).split(" Copyright")[0],
        "iperf3": first_line(["iperf3", "-v"]),
        "gcc": first_line(["gcc", "--version"]),
        "python": platform.python_version(),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()
