"""
Scale benchmark: one manager in front of N simulated engines with 30
containers each (classic Swarm's published test: 1,000 nodes, 30,000
containers).

    python bench/scale.py --engines 1000 [--discovery nodes|file] [--plot]

Measures the time until every engine is healthy, C{GET /info} and
C{GET /containers/json?all=1} latency (p50/p90/p99 over --calls calls on one
keep-alive connection; for C{ps -a}, after the first call, which encodes
every container's entry and is printed on its own, and
L{PS_WARMUP} more that are not counted; then again alternating call by call with a bare
server sending the same answer's bytes, C{_bare_server.py}: the floor the
client and the machine set for an answer that size), create+start through
the manager (p50/p90/p99 over --creates creates) next to the same create+start sent straight to one
simulated engine (the simulator's own time), C{GET /metrics} latency (a
Prometheus scrape, p50/p90/p99 over --scrapes scrapes, after the creates),
C{GET /info} again while another connection scrapes C{/metrics} non-stop
(what a scrape costs the API)
and the manager's RSS and CPU at idle and under load.  Prints a table; the
last line is one JSON object.
Each run is also appended to bench/results/scale.jsonl; --plot draws latency
against N from that file into bench/scale.png.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import ProcessMeter, creates, paired_gets, percentiles, timed_gets  # noqa: E402

from swarmd.testing.manager import ManagerProcess  # noqa: E402
from swarmd.testing.simulator import PER_SUBNET, discovery_entries  # noqa: E402

RESULTS = os.path.join(HERE, "results", "scale.jsonl")

#: C{ps -a} calls after the first one and before the measured ones (the
#: alternating phase's warm-up is as long): the first call after a start
#: encodes every container's entry and is printed on its own, and the next
#: ones pay for what it left (the collector's walk of its new objects).
PS_WARMUP = 4


def start_simulators(engines, containers, processes=1, port=2375):
    """
    Serve C{engines} simulated engines from C{processes} simulator
    processes, each a run of whole subnets (250 engines), together the same
    addresses and names one process would serve.

    @return: C{(processes, nodes:// discovery URL)}
    """
    per = -(-engines // processes)
    per = -(-per // PER_SUBNET) * PER_SUBNET
    started = []
    try:
        for first in range(0, engines, per):
            started.append(subprocess.Popen(
                [sys.executable, "-m", "swarmd.testing.simulator",
                 "--engines", str(min(per, engines - first)), "--containers", str(containers),
                 "--subnet-base", str(1 + first // PER_SUBNET), "--port", str(port)],
                stdout=subprocess.PIPE, text=True,
                env=dict(os.environ, PYTHONPATH=os.path.dirname(HERE))))
        urls = []
        for process in started:
            line = process.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError("simulator did not start: %r" % (line,))
            urls.append(line.split()[1][len("nodes://"):])
    except BaseException:
        for process in started:
            process.kill()
        raise
    return started, "nodes://" + ",".join(urls)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--engines", type=int, default=1000)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=200,
                        help="GET /metrics calls (after the creates)")
    parser.add_argument("--discovery", choices=("nodes", "file"), default="nodes")
    parser.add_argument("--port", type=int, default=2375,
                        help="port of the simulated engines (another port lets two runs "
                             "share the machine)")
    parser.add_argument("--simulators", type=int, default=1,
                        help="simulator processes serving the engines (whole subnets of 250)")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="seconds of idle CPU measurement")
    parser.add_argument("--manager-args", default="",
                        help="more `swarm manage` flags, one string (e.g. "
                             "\"--engine-relist-interval 10m\")")
    parser.add_argument("--idle-only", action="store_true",
                        help="stop after the idle measurement (no calls, creates, scrapes)")
    parser.add_argument("--profile", metavar="DIR",
                        help="record py-spy profiles of the manager (raw collapsed stacks) "
                             "into DIR: while engines connect and during the idle window")
    parser.add_argument("--turns", metavar="FILE",
                        help="log the manager's reactor turns longer than 15 ms, with the "
                             "stacks they ran (bench/turns/sitecustomize.py), and the "
                             "phases of the run, into FILE")
    parser.add_argument("--plot", action="store_true",
                        help="after the run, draw latency against N into bench/scale.png")
    options = parser.parse_args(argv)

    simulators, discovery = start_simulators(options.engines, options.containers,
                                             options.simulators, options.port)
    manager = None
    folder = tempfile.mkdtemp(prefix="swarmd-scale-")
    try:
        if options.discovery == "file":
            path = os.path.join(folder, "cluster")
            with open(path, "w") as f:
                f.write("# %d simulated engines\n" % (options.engines,))
                f.write("\n".join(discovery_entries(options.engines, options.port)) + "\n")
            discovery = "file://" + path
        if options.turns:
            os.environ["SWARMD_TURNS"] = os.path.abspath(options.turns)
            os.environ["PYTHONPATH"] = os.pathsep.join(
                [os.path.join(HERE, "turns")] + os.environ.get("PYTHONPATH", "").split(os.pathsep))
        phase = Phases(options.turns)
        started = time.monotonic()
        manager = ManagerProcess(discovery, args=["--heartbeat", "5s"]
                                 + options.manager_args.split()).start(healthy=0, timeout=60)
        meter = ProcessMeter(manager.process.pid)
        sim_meters = [ProcessMeter(p.pid) for p in simulators]
        sim_start = sum(m.cpu_seconds() for m in sim_meters)
        spy = None
        if options.profile:
            os.makedirs(options.profile, exist_ok=True)
            spy = py_spy(manager.process.pid, os.path.join(options.profile, "connecting.txt"))
        while True:
            try:
                if len(manager.healthy_nodes()) >= options.engines:
                    break
            except OSError:
                pass
            if time.monotonic() - started > 900:
                raise RuntimeError("not every engine healthy after 900 s")
            time.sleep(1)
        healthy_s = time.monotonic() - started
        phase("healthy")
        # CPU the manager spent getting there: unlike healthy_s, barely
        # moved by other processes sharing the cores.
        healthy_cpu_s = meter.cpu_seconds()
        # The simulators' share of the same work (they build their engines
        # before the manager starts: that part is left out).
        sim_cpu_s = sum(m.cpu_seconds() for m in sim_meters) - sim_start
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait()
        time.sleep(5)
        phase("idle")
        if options.profile:
            spy = py_spy(manager.process.pid, os.path.join(options.profile, "idle.txt"),
                         options.idle)
        idle_cpu = meter.cpu_percent(options.idle)
        idle_rss = meter.rss_mb()
        if spy is not None:
            spy.wait()
        if options.idle_only:
            print("engines %d, all healthy after %.1f s (manager CPU %.1f s, simulators %.1f s)"
                  % (options.engines, healthy_s, healthy_cpu_s, sim_cpu_s))
            print("manager RSS idle: %.0f MB; manager CPU idle: %.1f %%"
                  % (idle_rss, idle_cpu))
            print(json.dumps({"engines": options.engines, "healthy_s": round(healthy_s, 2),
                              "healthy_cpu_s": round(healthy_cpu_s, 2),
                              "sim_cpu_s": round(sim_cpu_s, 2),
                              "idle_rss_mb": round(idle_rss, 1),
                              "idle_cpu_pct": round(idle_cpu, 2)}))
            return

        host, port = "127.0.0.1", manager.port
        load_cpu_start, load_start = meter.cpu_seconds(), time.monotonic()
        phase("info")
        info = timed_gets(host, port, "/v1.41/info", options.calls)
        phase("ps")
        ps_first = timed_gets(host, port, "/v1.41/containers/json?all=1", 1)[0]
        timed_gets(host, port, "/v1.41/containers/json?all=1", PS_WARMUP)
        ps_cpu = meter.cpu_seconds()
        ps = timed_gets(host, port, "/v1.41/containers/json?all=1", options.calls)
        ps_cpu_ms = 1e3 * (meter.cpu_seconds() - ps_cpu) / options.calls
        phase("ps-floor")
        ps_paired, ps_floor = ps_against_floor(host, port, folder, options.calls)
        phase("create")
        create_cpu = meter.cpu_seconds()
        create = creates(host, port, options.creates, "bench")
        create_cpu_ms = 1e3 * (meter.cpu_seconds() - create_cpu) / options.creates
        phase("scrape")
        scrape = timed_gets(host, port, "/metrics", options.scrapes)
        info_scraped = while_scraping(host, port, lambda: timed_gets(
            host, port, "/v1.41/info", options.calls))
        with urllib.request.urlopen("http://%s:%d/metrics" % (host, port), timeout=60) as r:
            exposition = r.read()
        series = sum(1 for line in exposition.splitlines() if line and line[:1] != b"#")
        load_cpu = 100.0 * (meter.cpu_seconds() - load_cpu_start) / (time.monotonic()
                                                                      - load_start)
        load_rss = meter.rss_mb()
        # The simulator's own time for the same work, straight to one engine.
        direct = creates("127.0.1.1", options.port, options.creates, "direct")

        rows = [("info", percentiles(info)), ("ps -a", percentiles(ps)),
                ("ps -a, alternating", percentiles(ps_paired)),
                ("  same bytes, bare", percentiles(ps_floor)),
                ("create+start", percentiles(create)),
                ("  simulator alone", percentiles(direct))]
        scrape_row = ("/metrics scrape", percentiles(scrape))
        scraped_row = ("info while scraped", percentiles(info_scraped))
        net = tuple(max(0.0, a - b) for a, b in zip(percentiles(create), percentiles(direct),
                                                    strict=True))
        rows.append(("  minus simulator", net))
        rows.append(scrape_row)
        rows.append(scraped_row)
        containers = options.engines * options.containers
        print("engines %d, containers %d, discovery %s" % (options.engines, containers,
                                                             options.discovery))
        print("all healthy after %.1f s (manager CPU %.1f s, simulators %.1f s)"
              % (healthy_s, healthy_cpu_s, sim_cpu_s))
        print("%-20s %10s %10s %10s" % ("latency ms", "p50", "p90", "p99"))
        for name, (p50, p90, p99) in rows:
            print("%-20s %10.2f %10.2f %10.2f" % (name, p50, p90, p99))
        print("/metrics: %d series, %d bytes" % (series, len(exposition)))
        print("first ps -a after start (encodes every entry, not in the table): %.0f ms"
              % (ps_first * 1e3,))
        print("manager CPU per ps -a: %.1f ms, per create+start: %.1f ms"
              % (ps_cpu_ms, create_cpu_ms))
        print("manager RSS: %.0f MB idle, %.0f MB after load" % (idle_rss, load_rss))
        print("manager CPU: %.1f %% idle, %.1f %% under load" % (idle_cpu, load_cpu))
        summary = {
            "engines": options.engines,
            "containers": containers,
            "healthy_s": round(healthy_s, 2),
            "healthy_cpu_s": round(healthy_cpu_s, 2),
            "sim_cpu_s": round(sim_cpu_s, 2),
            "ps_cpu_ms": round(ps_cpu_ms, 2),
            "create_cpu_ms": round(create_cpu_ms, 2),
            "info_p99_ms": round(percentiles(info)[2], 2),
            "ps_p99_ms": round(percentiles(ps)[2], 2),
            "ps_first_ms": round(ps_first * 1e3, 1),
            "ps_paired_p99_ms": round(percentiles(ps_paired)[2], 2),
            "ps_floor_p99_ms": round(percentiles(ps_floor)[2], 2),
            "create_p99_ms": round(percentiles(create)[2], 2),
            "create_minus_sim_p99_ms": round(net[2], 2),
            "metrics_p50_ms": round(percentiles(scrape)[0], 2),
            "metrics_p99_ms": round(percentiles(scrape)[2], 2),
            "metrics_series": series,
            "info_scraped_p99_ms": round(percentiles(info_scraped)[2], 2),
            "rss_mb": round(max(idle_rss, load_rss), 1),
            "idle_cpu_pct": round(idle_cpu, 2),
        }
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(dict(summary, discovery=options.discovery,
                                    when=time.strftime("%Y-%m-%dT%H:%M:%S"),
                                    info_p50_ms=round(percentiles(info)[0], 2),
                                    ps_p50_ms=round(percentiles(ps)[0], 2),
                                    create_p50_ms=round(percentiles(create)[0], 2))) + "\n")
        if options.plot:
            plot(RESULTS, os.path.join(HERE, "scale.png"))
        print(json.dumps(summary))
    finally:
        if manager is not None:
            manager.cleanup()
        for simulator in simulators:
            simulator.kill()
            simulator.wait()


def ps_against_floor(host, port, folder, calls):
    """
    C{ps -a} through the manager alternating with the same answer's bytes
    from a bare server (C{_bare_server.py}: one C{sendall}, no work): what
    the client and the machine alone take for an answer that size, in the
    same minutes.

    @return: C{(manager seconds, bare server seconds)}, a list each.
    """
    path = os.path.join(folder, "ps.json")
    with urllib.request.urlopen("http://%s:%d/v1.41/containers/json?all=1" % (host, port),
                                timeout=120) as r, open(path, "wb") as f:
        f.write(r.read())
    bare = subprocess.Popen([sys.executable, os.path.join(HERE, "_bare_server.py"), path],
                            stdout=subprocess.PIPE)
    try:
        bare_port = int(bare.stdout.readline())
        return paired_gets([(host, port), ("127.0.0.1", bare_port)],
                           "/v1.41/containers/json?all=1", calls)
    finally:
        bare.kill()
        bare.wait()


class Phases:
    """
    Mark the start of each phase of the run in the C{--turns} file.
    """

    def __init__(self, path):
        self._path = path

    def __call__(self, name):
        if self._path:
            with open(self._path, "a") as f:
                f.write("phase %.3f %s\n" % (time.time(), name))


def py_spy(pid, output, seconds=None):
    """
    Start C{py-spy record} on process C{pid}, raw collapsed stacks written
    to C{output} (for C{seconds}, or until it gets SIGINT).

    @return: the L{subprocess.Popen}.
    """
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    command = [spy if os.path.exists(spy) else "py-spy", "record", "--pid", str(pid),
               "--format", "raw", "--rate", "50", "--nonblocking", "-o", output]
    if seconds is not None:
        command += ["--duration", str(int(seconds))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def while_scraping(host, port, measure):
    """
    Run C{measure()} while a thread scrapes C{/metrics} over and over.

    @return: what C{measure} returned.
    """
    import threading

    done = threading.Event()

    def scrape():
        while not done.is_set():
            timed_gets(host, port, "/metrics", 1)

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    try:
        return measure()
    finally:
        done.set()
        scraper.join()


def plot(results, target):
    """
    Draw p99 latency of info, ps and create against the number of engines,
    from the latest run of each N.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latest = {}
    with open(results) as f:
        for line in f:
            run = json.loads(line)
            latest[run["engines"]] = run
    engines = sorted(latest)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for key, label in (("info_p99_ms", "GET /info p99"), ("ps_p99_ms", "docker ps -a p99"),
                       ("create_p99_ms", "create+start p99")):
        axis.plot(engines, [latest[n][key] for n in engines], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("engines (30 containers each)")
    axis.set_ylabel("latency (ms)")
    axis.set_title("swarmd manager latency against cluster size")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    print("plot written to %s" % (target,))


if __name__ == "__main__":
    main()
