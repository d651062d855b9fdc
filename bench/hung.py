"""
A hung engine: on a lab of 3 real engines, 20 clients create and list
through the manager while one dockerd is SIGSTOPped, then SIGCONTed.

    python bench/hung.py [--clients 20] [--hang 12] [--retry 3]

Measures, from the SIGSTOP: the last create placed on the stopped engine,
when the manager's /info shows it Unhealthy, and, from the SIGCONT, when it
is Healthy again.  Targets: no placement on it after 5 s; Unhealthy within
--engine-failure-retry x the ping timeout (2 s).  Prints a table and, as
its last line, one JSON object; appends it to bench/results/hung.jsonl.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from swarmd.cluster.engine import EngineOptions  # noqa: E402
from swarmd.testing.lab import Lab  # noqa: E402
from swarmd.testing.manager import ManagerProcess  # noqa: E402


def call(url, method="GET", body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (TimeoutError, urllib.error.URLError) as e:
        return None, str(e).encode()


def node_status(manager, node):
    try:
        rows = manager.get("/info")["SystemStatus"]
    except OSError:
        return None
    current = None
    for key, value in rows:
        if key.startswith(" ") and not key.strip().startswith("└"):
            current = key.strip()
        elif key.strip() == "└ Status" and current == node:
            return value
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--hang", type=float, default=12.0,
                        help="seconds the engine stays stopped")
    parser.add_argument("--retry", type=int, default=3, help="--engine-failure-retry")
    options = parser.parse_args(argv)
    ping_timeout = EngineOptions().ping_timeout

    lab = Lab(n=3).start()
    manager = None
    stop = threading.Event()
    try:
        manager = ManagerProcess(lab.discovery(), args=[
            "--engine-failure-retry", str(options.retry)]).start(healthy=3)
        victim = lab.engine("n3")
        lock = threading.Lock()
        sent_at = {}
        counter = iter(range(10 ** 6))

        def client():
            while not stop.is_set():
                with lock:
                    number = next(counter)
                    sent_at["b%d" % number] = time.monotonic()
                # A client gives up after 5 s (the create goes on in the
                # manager), so one stuck create does not stop it.
                call(manager.url + "/containers/create?name=b%d" % number, "POST",
                     {"Image": "busybox", "Cmd": ["sleep", "600"]}, timeout=5)
                call(manager.url + "/containers/json?all=1", timeout=5)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(options.clients)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        stopped = time.monotonic()
        os.kill(victim.pid, signal.SIGSTOP)
        unhealthy = None
        while time.monotonic() - stopped < options.hang:
            if unhealthy is None and node_status(manager, "n3") == "Unhealthy":
                unhealthy = time.monotonic() - stopped
            time.sleep(0.05)
        resumed = time.monotonic()
        os.kill(victim.pid, signal.SIGCONT)
        healthy = None
        while time.monotonic() - resumed < 60:
            if node_status(manager, "n3") == "Healthy":
                healthy = time.monotonic() - resumed
                break
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(70)
        # Where each create landed, from the engines themselves (creates
        # held by the stopped engine completed after the SIGCONT).
        time.sleep(2)
        on_victim = victim.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        placed = sorted(sent_at[name] - stopped for name in on_victim if name in sent_at)
        during = [t for t in placed if 0 <= t < resumed - stopped]
        total_during = sum(1 for t in sent_at.values() if stopped <= t < resumed)
        result = {
            "clients": options.clients,
            "retry": options.retry,
            "ping_timeout_s": ping_timeout,
            "creates_during_hang": total_during,
            "placed_on_hung_during_hang": len(during),
            "last_placement_on_hung_s": round(during[-1], 2) if during else None,
            "unhealthy_after_s": round(unhealthy, 2) if unhealthy is not None else None,
            "unhealthy_target_s": options.retry * ping_timeout,
            "healthy_after_sigcont_s": round(healthy, 2) if healthy is not None else None,
        }
    finally:
        stop.set()
        if lab.engines and lab.engine("n3").pid:
            try:
                os.kill(lab.engine("n3").pid, signal.SIGCONT)
            except OSError:
                pass
        if manager is not None:
            manager.cleanup()
        lab.stop()

    print("%-44s %s" % ("creates sent while n3 was stopped", result["creates_during_hang"]))
    print("%-44s %s" % ("of which placed on n3", result["placed_on_hung_during_hang"]))
    print("%-44s %s s (target < 5 s)" % ("last placement on n3 after SIGSTOP",
                                         result["last_placement_on_hung_s"]))
    print("%-44s %s s (target <= %s s)" % ("n3 Unhealthy after SIGSTOP",
                                           result["unhealthy_after_s"],
                                           result["unhealthy_target_s"]))
    print("%-44s %s s" % ("n3 Healthy after SIGCONT", result["healthy_after_sigcont_s"]))
    line = json.dumps(result)
    with open(os.path.join(HERE, "results", "hung.jsonl"), "a") as f:
        f.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
