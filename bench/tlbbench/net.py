"""Loopback helpers: is a port listening (from /proc/net/tcp, no connection made), and one raw HTTP GET."""

import re
import socket
import time

def listening(host, port):
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(host), "little"), port)
    with open("/proc/net/tcp") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 3 and parts[1] == want and parts[3] == "0A":
                return True
    return False


def wait_listening(host, port, p=None, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(host, port):
            return True
        if p is not None and p.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def http_get(host, port, path="/", timeout=3.0):
    """One GET on a fresh connection; returns (status code or None, the whole answer)."""
    return http_request("GET", host, port, path, timeout)


def http_request(method, host, port, path="/", timeout=3.0):
    """One request with no body on a fresh connection, read to its close; returns (status code or None, the
    whole answer)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            length = "Content-Length: 0\r\n" if method != "GET" else ""
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{length}Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            m = re.match(rb"HTTP/1\.\d (\d{3})", data)
            return (int(m.group(1)), data) if m else (None, data)
    except OSError:
        return (None, b"")


def stand_in_mode(host, control_port, mode):
    """Switches a stand-in's behaviour (`mode up|refuse|hang|fail|reset|wrongbody|slow`) through its control port;
    raises RuntimeError on any answer but `ok` (OSError when the port does not answer)."""
    with socket.create_connection((host, control_port), timeout=2) as s:
        s.sendall(f"mode {mode}\n".encode())
        answer = s.recv(100)
    if not answer.startswith(b"ok"):
        raise RuntimeError(f"stand-in {host}: 'mode {mode}' answered {answer!r}")
