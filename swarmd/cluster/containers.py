"""
Containers as the manager caches them: one L{Container} per engine
container, built from the engine's inspect answer, and the summaries
C{GET /containers/json} returns, derived from it.
"""

import copy
import json
from datetime import datetime

SWARM_ID_LABEL = "com.docker.swarm.id"

_ZERO_YEAR = 1


def parse_time(text):
    """
    Parse a Docker RFC 3339 timestamp.

    @return: seconds since the epoch as a float, or L{None} for Docker's zero
        time (C{0001-01-01T00:00:00Z}), an empty or a malformed value.
    """
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.year <= _ZERO_YEAR:
        return None
    return when.timestamp()


def human_duration(seconds):
    """
    Docker's C{units.HumanDuration}: C{"5 minutes"}, C{"About an hour"}...
    """
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return "%d seconds" % seconds
    minutes = seconds // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % minutes
    hours = int(round(seconds / 3600.0))
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % hours
    if hours < 24 * 7 * 2:
        return "%d days" % (hours // 24)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours // 24 // 7)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours // 24 // 30)
    return "%d years" % (int(seconds / 3600) // 24 // 365)


def state_string(state, now):
    """
    Docker's human container status (C{"Up 5 minutes"},
    C{"Exited (0) 3 seconds ago"}, ...).

    @param state: the C{State} object of an inspect answer.
    @param now: the current time in seconds since the epoch.
    """
    started = parse_time(state.get("StartedAt"))
    finished = parse_time(state.get("FinishedAt"))
    if state.get("Running"):
        up = human_duration(now - started) if started is not None else "Less than a second"
        if state.get("Paused"):
            return "Up %s (Paused)" % (up,)
        if state.get("Restarting"):
            since = human_duration(now - finished) if finished is not None else up
            return "Restarting (%d) %s ago" % (state.get("ExitCode", 0), since)
        health = (state.get("Health") or {}).get("Status")
        if health and health != "none":
            if health == "starting":
                health = "health: starting"
            return "Up %s (%s)" % (up, health)
        return "Up %s" % (up,)
    if state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead") or state.get("Status") == "dead":
        return "Dead"
    if started is None:
        return "Created"
    if finished is None:
        return ""
    return "Exited (%d) %s ago" % (state.get("ExitCode", 0), human_duration(now - finished))


def _command(info):
    path = info.get("Path") or ""
    args = info.get("Args") or []
    if not args:
        return path
    quoted = ["'%s'" % a if " " in a else a for a in args]
    return "%s %s" % (path, " ".join(quoted))


def _ports(info):
    ports = []
    for key, bindings in sorted(((info.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        number, _, proto = key.partition("/")
        try:
            private = int(number)
        except ValueError:
            continue
        proto = proto or "tcp"
        if not bindings:
            ports.append({"PrivatePort": private, "Type": proto})
            continue
        for binding in bindings:
            port = {"PrivatePort": private, "Type": proto}
            if binding.get("HostIp") is not None:
                port["IP"] = binding.get("HostIp")
            try:
                port["PublicPort"] = int(binding.get("HostPort") or 0)
            except ValueError:
                port["PublicPort"] = 0
            ports.append(port)
    return ports


def with_node(info, engine):
    """
    The manager's inspect answer: the engine's, plus a C{Node} object, with
    ports bound on all interfaces shown on the node's IP (classic Swarm).

    @param info: the engine's inspect C{dict} (not changed).
    @return: a new C{dict}.
    """
    answer = dict(info)
    answer["Node"] = {
        "ID": engine.id, "IP": engine.ip, "Addr": engine.address, "Name": engine.name,
        "Cpus": engine.cpus, "Memory": engine.memory, "Labels": engine.labels,
    }
    network = info.get("NetworkSettings")
    if network and network.get("Ports"):
        network = dict(network)
        network["Ports"] = ports = copy.deepcopy(network["Ports"])
        answer["NetworkSettings"] = network
        for bindings in ports.values():
            for binding in bindings or []:
                if binding.get("HostIp") == "0.0.0.0":
                    binding["HostIp"] = engine.ip
    return answer


class Container:
    """
    One container of one engine, as cached by the manager.

    @ivar engine: the L{swarmd.cluster.engine.Engine} that runs it.
    @ivar info: the engine's inspect answer (a C{dict}).
    """

    __slots__ = ("_inspected", "_summary", "engine", "info")

    def __init__(self, engine, info):
        self.engine = engine
        self.info = info
        self._summary = None
        self._inspected = None

    def inspect_bytes(self):
        """
        The encoded C{GET /containers/{id}/json} answer (L{with_node}),
        made once per container state and engine specs.
        """
        cached = self._inspected
        if cached is None or cached[0] != self.engine.specs_revision:
            body = json.dumps(with_node(self.info, self.engine),
                              separators=(",", ":")).encode("utf-8") + b"\n"
            self._inspected = cached = (self.engine.specs_revision, body)
        return cached[1]

    def __repr__(self):
        return "<Container %s %s on %s>" % (self.id[:12], self.name, self.engine.address)

    @property
    def id(self):
        return self.info["Id"]

    @property
    def name(self):
        """
        The container's name without the leading C{/}.
        """
        return (self.info.get("Name") or "").lstrip("/")

    @property
    def labels(self):
        return (self.info.get("Config") or {}).get("Labels") or {}

    @property
    def swarm_id(self):
        return self.labels.get(SWARM_ID_LABEL, "")

    @property
    def state(self):
        return self.info.get("State") or {}

    @property
    def running(self):
        return bool(self.state.get("Running"))

    @property
    def paused(self):
        return bool(self.state.get("Paused"))

    @property
    def status(self):
        """
        Docker's machine-readable state: created, running, paused, ...
        """
        return self.state.get("Status") or ("running" if self.running else "exited")

    @property
    def created(self):
        return parse_time(self.info.get("Created")) or 0.0

    def summary(self, now):
        """
        The C{GET /containers/json} entry of this container as the engine
        itself would list it at time C{now}.

        @return: a new C{dict} the caller may change.
        """
        if self._summary is None:
            info = self.info
            config = info.get("Config") or {}
            host_config = info.get("HostConfig") or {}
            network = info.get("NetworkSettings") or {}
            self._summary = {
                "Id": info["Id"],
                "Names": ["/" + self.name],
                "Image": config.get("Image") or info.get("Image", ""),
                "ImageID": info.get("Image", ""),
                "Command": _command(info),
                "Created": int(self.created),
                "Ports": _ports(info),
                "Labels": self.labels,
                "State": self.status,
                "HostConfig": {"NetworkMode": host_config.get("NetworkMode", "default")},
                "NetworkSettings": {"Networks": network.get("Networks") or {}},
                "Mounts": info.get("Mounts") or [],
            }
        summary = dict(self._summary)
        summary["Ports"] = [dict(p) for p in summary["Ports"]]
        summary["Names"] = list(summary["Names"])
        summary["Status"] = state_string(self.state, now)
        return summary
