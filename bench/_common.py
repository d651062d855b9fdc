"""
What the benchmarks share: percentiles, timed requests on one keep-alive
connection, create+start pairs, and a process's CPU and memory from /proc.
"""

import http.client
import json
import os
import time


def percentiles(samples):
    """
    @return: C{(p50, p90, p99)} of C{samples} (seconds) in milliseconds.
    """
    ordered = sorted(samples)

    def at(fraction):
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1e3

    return at(0.50), at(0.90), at(0.99)


class ProcessMeter:
    """
    CPU time and RSS of a process, from /proc.
    """

    def __init__(self, pid):
        self.pid = pid
        self._ticks = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / self._ticks

    def rss_mb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def cpu_percent(self, seconds):
        """
        @return: the process's CPU use over the next C{seconds}, in percent
            of one core.
        """
        start_cpu, start = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return 100.0 * (self.cpu_seconds() - start_cpu) / (time.monotonic() - start)


def timed_get(connection, path):
    """
    One GET of C{path} on C{connection}, read to the end.

    @return: the seconds it took.
    @raise RuntimeError: for an answer other than 200.
    """
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError("%s: %d" % (path, response.status))
    return time.perf_counter() - started


def timed_gets(host, port, path, count):
    """
    C{count} GETs on one keep-alive connection.

    @return: the seconds each took.
    """
    connection = http.client.HTTPConnection(host, port, timeout=120)
    samples = [timed_get(connection, path) for _ in range(count)]
    connection.close()
    return samples


def paired_gets(addresses, path, count, warmup=5, timeout=120):
    """
    C{count} GETs of C{path} to each of C{addresses}, on one keep-alive
    connection each, the sides alternating request by request (so each sees
    the same load from the rest of the machine), after C{warmup} rounds.

    @param addresses: C{(host, port)} pairs.
    @return: the seconds each GET took, a list per address.
    """
    sides = [http.client.HTTPConnection(*address, timeout=timeout) for address in addresses]
    samples = tuple([] for _ in sides)
    try:
        for i in range(count + warmup):
            for side, connection in enumerate(sides):
                seconds = timed_get(connection, path)
                if i >= warmup:
                    samples[side].append(seconds)
    finally:
        for connection in sides:
            connection.close()
    return samples


def create_start(connection, name, body):
    """
    Create and start one container on C{connection}.

    @return: the seconds both took.
    """
    started = time.perf_counter()
    connection.request("POST", "/v1.41/containers/create?name=" + name, json.dumps(body),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 201:
        raise RuntimeError("create %s: %d %s" % (name, response.status, answer[:200]))
    connection.request("POST", "/v1.41/containers/%s/start" % (name,), b"",
                       {"Content-Length": "0"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 204:
        raise RuntimeError("start %s: %d %s" % (name, response.status, answer[:200]))
    return time.perf_counter() - started


def creates(host, port, count, prefix, cmd=("sleep", "100000000")):
    """
    C{count} create+start pairs on one keep-alive connection.

    @return: the seconds each pair took.
    """
    connection = http.client.HTTPConnection(host, port, timeout=120)
    body = {"Image": "busybox", "Cmd": list(cmd)}
    samples = [create_start(connection, "%s%05d" % (prefix, i), body) for i in range(count)]
    connection.close()
    return samples
