"""A fixed number of HTTP/1.1 requests through the balancer, for counting what the balancer executes per request
(bench/instructions/run). Not a load generator: one request at a time, every answer read in full and checked."""
import socket
import sys


def read_answer(sock, pending):
    """Reads one answer (Content-Length framed) from `sock`; returns the bytes left over after it."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before an answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit("unexpected answer: %r" % head[:80])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed inside an answer")
        rest += chunk
    return rest[length:]


def main():
    mode, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    request = b"GET / HTTP/1.1\r\nHost: tessera\r\n\r\n"
    if mode == "keepalive":
        with socket.create_connection((host, port), timeout=30) as sock:
            pending = b""
            for _ in range(count):
                sock.sendall(request)
                pending = read_answer(sock, pending)
    elif mode == "close":
        closing = b"GET / HTTP/1.1\r\nHost: tessera\r\nConnection: close\r\n\r\n"
        for _ in range(count):
            with socket.create_connection((host, port), timeout=30) as sock:
                sock.sendall(closing)
                read_answer(sock, b"")
    else:
        raise SystemExit("mode: keepalive or close")


main()
