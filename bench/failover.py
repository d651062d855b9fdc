"""
Failover of replicated managers (C{--replication}) on a real etcd: three
managers, the primary SIGKILLed N times (restarted each time as a replica);
for each kill, the time until another manager says it is primary in its
C{/info}, and until a container list through that manager answers.

    PYTHONPATH=. .venv/bin/python bench/failover.py [--kills 10] [--ttl 5]

Prints one line per kill, p50 and max, and a JSON line (appended to
bench/results/failover.jsonl).  The bound is the TTL plus one renewal
interval (a third of the TTL): the killed primary's lease must run out in
the store before anyone may take over.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swarmd.testing.kvstores.etcd import EtcdServer  # noqa: E402
from swarmd.testing.manager import ManagerProcess, free_port  # noqa: E402


def role(manager):
    try:
        with urllib.request.urlopen(manager.url + "/info", timeout=0.5) as answer:
            rows = json.load(answer)["SystemStatus"]
    except (OSError, ValueError):
        return None
    return rows[0][1]


def answers(manager):
    try:
        with urllib.request.urlopen(manager.url + "/containers/json", timeout=2) as answer:
            return answer.status == 200
    except (OSError, ValueError):
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--ttl", type=float, default=5.0)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="swarmd-failover-")
    etcd = EtcdServer(folder)
    etcd.start()
    managers = []

    def start(port=None):
        port = port or free_port()
        manager = ManagerProcess(
            "etcd://%s/bench" % (etcd.address,),
            args=["--replication", "--replication-ttl", "%gs" % (args.ttl,),
                  "--advertise", "127.0.0.1:%d" % (port,)], port=port)
        manager.start()
        return manager

    try:
        managers = [start() for _ in range(3)]
        to_primary, to_answer = [], []
        for kill in range(args.kills):
            deadline = time.monotonic() + args.ttl * 4
            while True:
                primaries = [m for m in managers if role(m) == "primary"]
                if len(primaries) == 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if len(primaries) != 1:
                raise SystemExit("no single primary before kill %d" % (kill + 1,))
            old = primaries[0]
            killed = time.monotonic()
            old.process.send_signal(signal.SIGKILL)
            old.process.wait()
            others = [m for m in managers if m is not old]
            elected = None
            while elected is None:
                elected = next((m for m in others if role(m) == "primary"), None)
                if time.monotonic() - killed > args.ttl * 4:
                    raise SystemExit("no new primary %.1f s after kill %d" % (
                        time.monotonic() - killed, kill + 1))
                time.sleep(0.02)
            to_primary.append(time.monotonic() - killed)
            while not answers(elected):
                time.sleep(0.02)
            to_answer.append(time.monotonic() - killed)
            print("kill %2d: new primary after %.2f s, answering after %.2f s"
                  % (kill + 1, to_primary[-1], to_answer[-1]), flush=True)
            old.cleanup()
            managers[managers.index(old)] = start(old.port)
        ordered = sorted(to_primary)
        result = {
            "kills": args.kills, "ttl_s": args.ttl, "interval_s": round(args.ttl / 3, 2),
            "primary_p50_s": round(ordered[len(ordered) // 2], 2),
            "primary_max_s": round(ordered[-1], 2),
            "answer_max_s": round(max(to_answer), 2),
            "bound_s": round(args.ttl + args.ttl / 3, 2),
        }
        print("failover over %d kills (TTL %g s): p50 %.2f s, max %.2f s (bound TTL + interval "
              "= %.2f s)" % (args.kills, args.ttl, result["primary_p50_s"],
                             result["primary_max_s"], result["bound_s"]))
        print(json.dumps(result))
        results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
        os.makedirs(results, exist_ok=True)
        with open(os.path.join(results, "failover.jsonl"), "a") as f:
            f.write(json.dumps(dict(result, time=int(time.time()))) + "\n")
    finally:
        for manager in managers:
            manager.cleanup()
        etcd.stop()


if __name__ == "__main__":
    main()
