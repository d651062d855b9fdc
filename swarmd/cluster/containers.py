"""
Containers as the manager caches them: one L{Container} per engine
container, built from the engine's inspect answer, and the summaries
C{GET /containers/json} returns, derived from it.
"""

import json
import sys
import weakref
import zlib
from datetime import datetime
from typing import Any

from swarmd.scheduler.node import SWARM_ID_LABEL

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


def state_string(state, now, times=None):
    """
    Docker's human container status (C{"Up 5 minutes"},
    C{"Exited (0) 3 seconds ago"}, ...).

    @param state: the C{State} object of an inspect answer.
    @param now: the current time in seconds since the epoch.
    @param times: C{(started, finished)} already parsed from C{state}, or
        L{None}.
    """
    if times is None:
        times = (parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt")))
    started, finished = times
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


def stable_until(elapsed):
    """
    How long L{human_duration} keeps its answer: the first whole number of
    elapsed seconds, after C{elapsed}, at which it may change (it never
    changes before).

    @param elapsed: whole seconds, as L{human_duration} truncates them.
    """
    if elapsed < 60:
        return elapsed + 1
    if elapsed < 3600:
        return (elapsed // 60 + 1) * 60
    # Hours and longer derive from round(seconds / 3600), which moves at
    # half hours (one second later at an exact half hour: round(2.5) is 2).
    if elapsed % 1800 == 0:
        return elapsed + 1
    return (elapsed // 1800 + 1) * 1800


def state_reference(state, times):
    """
    The time L{state_string}'s duration counts from, or L{None} when its
    answer does not depend on the current time.
    """
    started, finished = times
    if state.get("Running"):
        if state.get("Restarting") and not state.get("Paused") and finished is not None:
            return finished
        return started
    if state.get("Status") == "removing" or state.get("Dead") or state.get("Status") == "dead":
        return None
    if started is None:
        return None
    return finished


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


#: What the manager keeps parsed of an inspect answer: everything the
#: scheduler, the container list, its filters and the network/volume views
#: read.  The whole answer is kept too, compressed, to be served as is.
SLIM_FIELDS = {
    "Id": None, "Name": None, "Created": None, "Path": None, "Args": None, "Image": None,
    "ExecIDs": None, "Mounts": None, "RestartCount": None, "State": None,
    "Config": ("Image", "Labels", "Env", "ExposedPorts", "Tty", "StopTimeout"),
    "HostConfig": ("NetworkMode", "CpuShares", "Memory", "PortBindings", "Links",
                   "VolumesFrom", "Binds"),
    "NetworkSettings": ("Ports", "Networks"),
}


_intern = sys.intern


def _shared(value):
    """
    C{value} (decoded JSON) with its keys and short strings interned: each
    decoded answer brings its own copy of every key ("Status", "Running",
    "HostPort"...) and of values most containers share ("running",
    "bridge", "172.17.0.1"); shared, a cached container takes 3.8 KB instead
    of 6.2 KB (360 MB less at 150,000 containers), for 10 us more a read.
    IDs (64 characters) stay as they are.
    """
    kind = type(value)
    if kind is str:
        return _intern(value) if len(value) < 64 else value
    if kind is dict:
        return {_intern(k): (v if type(v) in _PLAIN else _shared(v)) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PLAIN else _shared(v) for v in value]
    return value


#: Decoded JSON values L{_shared} leaves as they are (checked inline: a
#: call for each was 40 % of its time).
_PLAIN = frozenset([int, float, bool, type(None)])


def slim(info):
    """
    @return: the part of an inspect answer the manager works with, its
        strings shared (L{_shared}).
    """
    kept = {}
    for key, fields in SLIM_FIELDS.items():
        value = info.get(key)
        if fields is not None and isinstance(value, dict):
            value = {field: _shared(value[field]) for field in fields if field in value}
        elif value is not None:
            value = _shared(value)
        if value is not None:
            kept[key] = value
    return kept


#: What inspect answers have in common (dockerd 20.10's fields, in its
#: order, with their usual values, no IDs): the preset dictionary each
#: kept answer is compressed with.  Most of an answer is these keys and
#: defaults, so it packs to about a fifth of what zlib alone makes of it,
#: in half the time (zlib's own start-up was most of it).
_INSPECT_DICTIONARY = json.dumps({
    "Id": "", "Created": "2026-01-01T00:00:00.000000000Z", "Path": "", "Args": [],
    "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False,
              "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
              "StartedAt": "", "FinishedAt": "0001-01-01T00:00:00Z"},
    "Image": "sha256:", "ResolvConfPath": "/var/lib/docker/containers//resolv.conf",
    "HostnamePath": "/var/lib/docker/containers//hostname",
    "HostsPath": "/var/lib/docker/containers//hosts",
    "LogPath": "/var/lib/docker/containers//-json.log", "Name": "/", "RestartCount": 0,
    "Driver": "overlay2", "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
    "AppArmorProfile": "", "ExecIDs": None,
    "HostConfig": {
        "Binds": None, "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}}, "NetworkMode": "default",
        "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None,
        "CapDrop": None, "CgroupnsMode": "host", "Dns": [], "DnsOptions": [],
        "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
        "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
        "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc",
        "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
        "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": None, "BlkioDeviceWriteBps": None,
        "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None, "CpuPeriod": 0,
        "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "",
        "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "KernelMemory": 0, "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None,
        "Ulimits": None, "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0, "MaskedPaths": ["/proc/asound", "/proc/acpi"],
        "ReadonlyPaths": ["/proc/bus", "/proc/fs"]},
    "GraphDriver": {"Data": None, "Name": "overlay2"}, "Mounts": [],
    "Config": {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
               "AttachStdout": False, "AttachStderr": False, "ExposedPorts": None,
               "Tty": False, "OpenStdin": False, "StdinOnce": False,
               "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
               "Cmd": [], "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
               "OnBuild": None, "Labels": {}},
    "NetworkSettings": {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "/var/run/docker/netns/",
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": "",
        "Gateway": "172.17.0.1", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": "172.17.0.", "IPPrefixLen": 16, "IPv6Gateway": "",
        "MacAddress": "02:42:ac:11:00:", "Networks": {"bridge": {
            "IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "",
            "EndpointID": "", "Gateway": "172.17.0.1", "IPAddress": "172.17.0.",
            "IPPrefixLen": 16, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": "02:42:ac:11:00:", "DriverOpts": None}}},
}, separators=(",", ":")).encode("utf-8")

#: zlib's window bits for the kept answers: raw deflate (no header or
#: checksum), a 32 KB window.
_WBITS = -15


def _pack(raw):
    packer = zlib.compressobj(1, zlib.DEFLATED, _WBITS, 8, zlib.Z_DEFAULT_STRATEGY,
                              _INSPECT_DICTIONARY)
    return packer.compress(raw) + packer.flush()


def _unpack(packed):
    unpacker = zlib.decompressobj(_WBITS, _INSPECT_DICTIONARY)
    return unpacker.decompress(packed) + unpacker.flush()


#: Each engine's encoded C{Node} object, with what it was encoded from.
_NODE_JSON: "weakref.WeakKeyDictionary[Any, tuple[tuple, bytes]]" = weakref.WeakKeyDictionary()


def node_json(engine):
    """
    The C{Node} object classic Swarm adds to inspect answers, encoded (once
    per change of the engine's specs: an inspect served from the cache
    spent a third of its own time encoding it).
    """
    key = (engine.specs_revision, engine.id, engine.ip, engine.address, engine.name,
           engine.cpus, engine.memory, id(engine.labels))
    kept = _NODE_JSON.get(engine)
    if kept is not None and kept[0] == key:
        return kept[1]
    encoded = json.dumps({
        "ID": engine.id, "IP": engine.ip, "Addr": engine.address, "Name": engine.name,
        "Cpus": engine.cpus, "Memory": engine.memory, "Labels": engine.labels,
    }, separators=(",", ":")).encode("utf-8")
    _NODE_JSON[engine] = (key, encoded)
    return encoded


class Container:
    """
    One container of one engine, as cached by the manager.

    @ivar engine: the L{swarmd.cluster.engine.Engine} that runs it.
    @ivar info: the part of the engine's inspect answer the manager reads
        (L{slim}); the whole answer is kept compressed for L{inspect_bytes}.
    """

    __slots__ = ("_created", "_listing", "_packed", "_times", "engine", "info")

    def __init__(self, engine, info, raw=None):
        """
        @param raw: the engine's answer as it sent it, when at hand: kept
            as is (not encoded again) if it is a compact JSON object.
        """
        self.engine = engine
        self.info = slim(info)
        if raw is not None:
            raw = raw.strip()
            if not raw.startswith(b"{") or b'"HostIp" ' in raw or b'"HostIp": ' in raw:
                raw = None
        if raw is None:
            raw = json.dumps(info, separators=(",", ":")).encode("utf-8")
        # Compact JSON, so the byte-level edits of inspect_bytes match.
        self._packed = _pack(raw)
        self._times = None
        self._created = None
        self._listing = None

    def inspect_bytes(self):
        """
        The C{GET /containers/{id}/json} answer: the engine's, plus the
        C{Node} object, with ports bound on all interfaces shown on the
        node's IP (classic Swarm does both on the bytes too).
        """
        raw = _unpack(self._packed)
        ip = self.engine.ip.encode("ascii")
        if ip != b"0.0.0.0":
            raw = raw.replace(b'"HostIp":"0.0.0.0"', b'"HostIp":"' + ip + b'"')
        return b'{"Node":' + node_json(self.engine) + b"," + raw[1:] + b"\n"

    def full_info(self):
        """
        @return: the engine's whole inspect answer, decoded.
        """
        return json.loads(_unpack(self._packed))

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
        if self._created is None:
            self._created = parse_time(self.info.get("Created")) or 0.0
        return self._created

    def summary(self, now):
        """
        The C{GET /containers/json} entry of this container as the engine
        itself would list it at time C{now}.

        @return: a new C{dict} the caller may change.
        """
        info = self.info
        config = info.get("Config") or {}
        host_config = info.get("HostConfig") or {}
        network = info.get("NetworkSettings") or {}
        summary = {
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
        summary["Status"] = self.status_text(now)
        return summary

    def status_text(self, now):
        """
        Docker's human status of the container at time C{now}.
        """
        if self._times is None:
            state = self.state
            self._times = (parse_time(state.get("StartedAt")),
                           parse_time(state.get("FinishedAt")))
        return state_string(self.state, now, self._times)

    def _status_until(self, now):
        """
        When the status text at C{now} may change next (clock seconds;
        infinity for a text that depends on no time).
        """
        reference = state_reference(self.state, self._times)
        if reference is None:
            return float("inf")
        return reference + stable_until(int(now - reference))

    def listing_until(self):
        """
        When the kept entry of L{listing_bytes} may next change by time
        alone (its status text): infinity for never, 0 before it was made.
        """
        cached = self._listing
        return 0.0 if cached is None else cached[0]

    def listing_bytes(self, now):
        """
        The encoded entry of this container in the manager's
        C{GET /containers/json}: named C{/node/name}, ports bound on all
        interfaces shown on the node's IP, C{"Host Down"} when its node is
        not healthy.  Encoded once per distinct status text, and kept with
        the time that text may change next, so a list does not work the
        status of every container out again.
        """
        engine = self.engine
        healthy = engine.healthy
        cached = self._listing
        if (cached is not None and now < cached[0] and cached[1] is healthy
                and cached[2] == engine.specs_revision):
            return cached[4]
        if healthy:
            status = self.status_text(now)
            until = self._status_until(now)
        else:
            status, until = "Host Down", float("inf")
        if cached is not None and cached[2] == engine.specs_revision:
            if cached[3] == status and cached[1] is healthy:
                self._listing = (until,) + cached[1:]
                return cached[4]
            # Only the status moved: the rest of the entry is kept encoded
            # (Status is its last key), as the start of the entry (not a
            # copy of its own: at 150,000 containers that was 120 MB).
            head = cached[4][:cached[5]]
        else:
            summary = self.summary(now)
            del summary["Status"]
            summary["Names"] = ["/" + engine.name + name for name in summary["Names"]]
            for port in summary["Ports"]:
                if port.get("IP") == "0.0.0.0":
                    port["IP"] = engine.ip
            head = json.dumps(summary, separators=(",", ":")).encode("utf-8")[:-1]
        data = head + b',"Status":' + json.dumps(status).encode("utf-8") + b"}"
        self._listing = (until, healthy, engine.specs_revision, status, data, len(head))
        return data
