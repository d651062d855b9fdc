"""
A long fuzzing run against the manager's API: the strategies of
L{swarmd.testing.fuzz} (create bodies, filters, paths, headers, mixed), at
random, every answer checked (L{swarmd.testing.fuzz.problems}) and
C{/_ping} asked after each request.

In memory (a manager over fake engines, its own site spoken to in raw
HTTP; no socket)::

    python bench/fuzz.py --requests 5000

Against a running manager (loopback only), e.g. one over a lab's engines::

    python bench/fuzz.py --requests 2000 --target tcp://127.0.0.1:4000
    python bench/fuzz.py --requests 2000 --target unix:///tmp/swarm.sock

Prints how many requests were sent, how many answers of each status came
back, the slowest ping, and every distinct problem found (with one request
that showed it).  Exit status 1 when a problem was found.
"""

import argparse
import os
import socket
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from twisted.logger import globalLogPublisher  # noqa: E402

from swarmd.testing import fuzz  # noqa: E402

#: Hosts a target may be on.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LiveTarget:
    """
    A running manager, spoken to in raw HTTP/1.0 over one new connection
    per request.
    """

    def __init__(self, target, timeout=30.0):
        if target.startswith("unix://"):
            self.family, self.address = socket.AF_UNIX, target[len("unix://"):]
        elif target.startswith("tcp://"):
            host, _, port = target[len("tcp://"):].rpartition(":")
            host = host.strip("[]")
            if host not in LOOPBACK:
                raise SystemExit("fuzz: only loopback targets (got %s)" % (host,))
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.family, self.address = family, (host, int(port))
        else:
            raise SystemExit("fuzz: --target is tcp://127.0.0.1:PORT or unix:///PATH")
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None):
        lines = ["%s %s HTTP/1.0" % (method, path), "Host: swarm"]
        for name, value in (headers or {}).items():
            lines.append("%s: %s" % (name, value))
        if body is not None:
            lines.append("Content-Length: %d" % (len(body),))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        with socket.socket(self.family, socket.SOCK_STREAM) as conn:
            conn.settimeout(self.timeout)
            conn.connect(self.address)
            try:
                conn.sendall(data)
            except OSError:
                pass  # refused early: read what it answered
            chunks = []
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except TimeoutError:
                return None
            except OSError:
                pass
        raw = b"".join(chunks)
        if not raw:
            return None
        return fuzz.parse_answer(raw)

    def ping(self):
        answer = self.request("GET", "/_ping")
        return answer is not None and answer[0] == 200 and answer[2] == b"OK"


def memory_target():
    from swarmd.testing.memory import MemoryManager

    return fuzz.RawSite(MemoryManager(["127.0.0.1:2376", "127.0.0.1:2377", "127.0.0.1:2378"]))


def run(target, count, seed=None):
    """
    @return: C{(requests sent, status counter, 5xx body counter,
        {problem: example request}, slowest ping in seconds)}.
    """
    statuses = Counter()
    errors = Counter()
    found = {}
    incidents = {}

    def observe(event):
        failure = event.get("log_failure")
        if failure is not None and "incident" in event:
            incidents[event["incident"]] = "%s: %s" % (failure.type.__name__,
                                                       failure.getErrorMessage())

    globalLogPublisher.addObserver(observe)
    sent = [0]
    slowest = [0.0]

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzz.requests())
    def one(request):
        method, path, body, headers = request
        answer = target.request(method, path, body, headers)
        sent[0] += 1
        if answer is None:
            statuses["none"] += 1
            found.setdefault("no answer", request)
        else:
            status, answer_headers, content = answer
            statuses[status] += 1
            if status >= 500:
                errors[content.decode("utf-8", "replace").strip()[:160]] += 1
            for problem in fuzz.problems(method, status, answer_headers.get(b"content-type"),
                                         content):
                # One entry per kind of problem, not per request: an
                # incident by the exception logged with it (in memory).
                incident = fuzz.INCIDENT.search(problem)
                if incident is not None:
                    problem = "internal error: %s" % (
                        incidents.get(incident.group(0).split()[-1].rstrip(")"), "?"),)
                found.setdefault(problem[:200], request)
        started = time.monotonic()
        ok = target.ping()
        sent[0] += 1
        slowest[0] = max(slowest[0], time.monotonic() - started)
        if not ok:
            found.setdefault("/_ping did not answer OK after", request)

    if seed is not None:
        from hypothesis import seed as hypothesis_seed

        one = hypothesis_seed(seed)(one)
    try:
        one()
    finally:
        globalLogPublisher.removeObserver(observe)
    return sent[0], statuses, errors, found, slowest[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="generated requests (each followed by a /_ping)")
    parser.add_argument("--target", help="tcp://127.0.0.1:PORT or unix:///PATH "
                                         "(default: a manager in memory)")
    parser.add_argument("--seed", type=int, help="Hypothesis seed (default: random)")
    options = parser.parse_args(argv)
    target = LiveTarget(options.target) if options.target else memory_target()
    started = time.monotonic()
    sent, statuses, errors, found, slowest = run(target, options.requests, options.seed)
    elapsed = time.monotonic() - started
    print("target: %s" % (options.target or "in memory (3 fake engines)",))
    print("requests: %d (%d generated, each followed by /_ping) in %.1f s"
          % (sent, sent // 2, elapsed))
    print("statuses: %s" % (", ".join("%s: %d" % (k, v) for k, v in
                                      sorted(statuses.items(), key=str)),))
    print("slowest /_ping after a request: %.1f ms" % (slowest * 1000,))
    print("5xx answers (Docker's JSON; engines' and the scheduler's own errors):")
    for text, count in errors.most_common(8):
        print("  %4d  %s" % (count, text))
    print("problems: %d" % (len(found),))
    for problem, request in sorted(found.items()):
        method, path, body, headers = request
        print("  - %s\n      %s %s body=%r headers=%r" % (
            problem, method, path[:200], (body or b"")[:200], headers))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
