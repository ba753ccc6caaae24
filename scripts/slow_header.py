#!/usr/bin/env python3
"""Measures how long a local server keeps a slow-header (slowloris) connection open.

    scripts/slow_header.py HOST:PORT [ROUNDS]

Each round opens a connection, sends the start of a request head and then one more
header line every second, never the blank line that ends the head, and times how long
until the server closes the connection. Run it against the real server (e.g. the local
submit-fn, `cargo run -p submit-fn`, on 127.0.0.1:8787); the production timeout is
`local_http::Timeouts::LOCAL.header` (20 s).
"""
import socket
import statistics
import sys
import time


def one(host, port, give_up=120.0):
    s = socket.create_connection((host, port))
    s.settimeout(1.0)
    start = time.monotonic()
    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
    n = 0
    while time.monotonic() - start < give_up:
        try:
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            pass
        except OSError:
            break
        try:
            s.sendall(b"X-Slow-%d: a\r\n" % n)
            n += 1
        except OSError:
            break
    s.close()
    return time.monotonic() - start


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times = [one(host, int(port)) for _ in range(rounds)]
    print("closed after: " + ", ".join(f"{t:.1f} s" for t in times)
          + f" (median {statistics.median(times):.1f} s)")


if __name__ == "__main__":
    main()
