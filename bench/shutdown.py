"""
Graceful shutdown under load: a manager over a 1-engine lab with N clients
following one container's logs (C{GET .../logs?follow=1}, as C{docker logs
-f}) and N idle keep-alive connections, then SIGTERM with
C{--shutdown-timeout G}: the time until the manager exits and its status,
and how each stream ended (its last chunk then the close: clean; a reset
or a close without the last chunk: cut).  Then the same with no stream
open: the time to exit with only idle connections.

    PYTHONPATH=. .venv/bin/python bench/shutdown.py [--streams 200] [--grace 2]

Prints a table and a JSON line (appended to bench/results/shutdown.jsonl).
"""

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swarmd.testing.lab import Lab  # noqa: E402
from swarmd.testing.manager import ManagerProcess  # noqa: E402

FOLLOW = (b"GET /v1.41/containers/ticker/logs?follow=1&stdout=1 HTTP/1.1\r\n"
          b"Host: swarm\r\n\r\n")
PING = b"GET /_ping HTTP/1.1\r\nHost: swarm\r\n\r\n"


def connect(port, request):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request)
    return sock


def read_some(sock, timeout=20.0):
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    finally:
        sock.settimeout(None)


def stop_and_watch(manager, streams, idle, grace):
    """
    SIGTERM the manager; read every socket until it closes.

    @return: C{(seconds to exit, exit status, clean streams, cut streams,
        idle connections closed)}.
    """
    data = {s: b"" for s in streams}
    open_ = set(streams) | set(idle)
    ended = {}
    began = time.monotonic()
    manager.process.send_signal(signal.SIGTERM)
    deadline = began + grace + 30
    selector = selectors.DefaultSelector()
    for sock in open_:
        selector.register(sock, selectors.EVENT_READ)
    while open_ and time.monotonic() < deadline:
        for key, _ in selector.select(1.0):
            sock = key.fileobj
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk, ended[sock] = b"", "reset"
            if chunk:
                if sock in data:
                    data[sock] = (data[sock] + chunk)[-16:]
                continue
            open_.discard(sock)
            selector.unregister(sock)
            ended.setdefault(sock, "closed")
    status = manager.process.wait(grace + 30)
    seconds = time.monotonic() - began
    clean = sum(1 for s in streams
                if ended.get(s) == "closed" and data[s].endswith(b"0\r\n\r\n"))
    idle_closed = sum(1 for s in idle if ended.get(s) == "closed")
    return seconds, status, clean, len(streams) - clean, idle_closed


def run(lab, streams, grace):
    manager = ManagerProcess(lab.discovery(), args=(
        "--shutdown-timeout", "%gs" % (grace,), "--engine-refresh-min-interval", "1s",
        "--engine-refresh-max-interval", "2s")).start(healthy=1)
    sockets = []
    try:
        if streams:
            manager.docker("rm", "-f", "ticker")
            done = manager.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                                  "while true; do echo tick; sleep 0.5; done")
            if done.returncode:
                raise RuntimeError(done.stderr)
        following = [connect(manager.port, FOLLOW) for _ in range(streams)]
        for sock in following:
            read_some(sock)
        idle = [connect(manager.port, PING) for _ in range(streams or 200)]
        for sock in idle:
            read_some(sock)
        sockets = following + idle
        return stop_and_watch(manager, following, idle, grace)
    finally:
        for sock in sockets:
            sock.close()
        manager.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--grace", type=float, default=2.0)
    options = parser.parse_args()
    lab = Lab(n=1).start()
    try:
        streamed = run(lab, options.streams, options.grace)
        quiet = run(lab, 0, options.grace)
    finally:
        lab.stop()
    print("| open at SIGTERM | exit after | status | streams ended clean / cut | idle closed |")
    print("|---|---|---|---|---|")
    print("| %d `logs -f` + %d idle | %.2f s | %d | %d / %d | %d |" % (
        options.streams, options.streams, streamed[0], streamed[1], streamed[2], streamed[3],
        streamed[4]))
    print("| 200 idle | %.2f s | %d | - | %d |" % (quiet[0], quiet[1], quiet[4]))
    result = {"bench": "shutdown", "time": time.time(), "grace": options.grace,
              "streams": options.streams, "exit_seconds": round(streamed[0], 3),
              "status": streamed[1], "clean": streamed[2], "cut": streamed[3],
              "idle_closed": streamed[4], "idle_only_exit_seconds": round(quiet[0], 3),
              "idle_only_status": quiet[1]}
    line = json.dumps(result)
    print(line)
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, "shutdown.jsonl"), "a") as f:
        f.write(line + "\n")


if __name__ == "__main__":
    main()
