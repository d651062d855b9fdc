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
_NEVER = float("inf")


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


#: The encoded ends of list entries (C{,"Status":"Up 5 minutes"}}), by
#: status text: shared by every entry that shows the same text.
_TAILS: dict[str, bytes] = {}
#: How many texts L{_TAILS} keeps before it starts again (texts are few:
#: durations in seconds, minutes, hours..., times the exit codes and health
#: states actually seen).
_TAILS_KEPT = 4096


def status_tail(text):
    """
    The end of a list entry whose C{Status} is C{text}: the key, its value
    and the entry's closing brace, encoded.
    """
    tail = _TAILS.get(text)
    if tail is None:
        if len(_TAILS) >= _TAILS_KEPT:
            _TAILS.clear()
        tail = _TAILS[text] = b',"Status":' + json.dumps(text).encode("utf-8") + b"}"
    return tail


#: The end of the entry of a container whose node is not healthy.
HOST_DOWN_TAIL = b',"Status":"Host Down"}'


def status_clock(state, times):
    """
    Docker's human container status as a clock: C{(prefix, reference,
    suffix)}.  At time C{now} the text is C{prefix +
    human_duration(now - reference) + suffix}, or C{prefix} alone when
    C{reference} is L{None} (a text no time changes).

    @param state: the C{State} object of an inspect answer.
    @param times: C{(started, finished)} parsed from C{state}.
    """
    started, finished = times
    if state.get("Running"):
        reference = started
        if state.get("Paused"):
            prefix, suffix = "Up ", " (Paused)"
        elif state.get("Restarting"):
            prefix, suffix = "Restarting (%d) " % (state.get("ExitCode", 0),), " ago"
            if finished is not None:
                reference = finished
        else:
            prefix, suffix = "Up ", ""
            health = (state.get("Health") or {}).get("Status")
            if health and health != "none":
                if health == "starting":
                    health = "health: starting"
                suffix = " (%s)" % (health,)
        if reference is None:
            return (prefix + "Less than a second" + suffix, None, "")
        return (prefix, reference, suffix)
    if state.get("Status") == "removing":
        return ("Removal In Progress", None, "")
    if state.get("Dead") or state.get("Status") == "dead":
        return ("Dead", None, "")
    if started is None:
        return ("Created", None, "")
    if finished is None:
        return ("", None, "")
    return ("Exited (%d) " % (state.get("ExitCode", 0),), finished, " ago")


def clock_text(clock, now):
    """
    The text of a L{status_clock} at time C{now}.
    """
    prefix, reference, suffix = clock
    if reference is None:
        return prefix
    return prefix + human_duration(now - reference) + suffix


#: L{clock_tail}'s answers by clock text and whole seconds elapsed: the
#: containers started together (a rollout, a simulator) roll over together,
#: 30,000 at a time, mostly to the same few texts.
_CLOCK_TAILS: dict[tuple[str, str, int], tuple[bytes, int]] = {}


def clock_tail(clock, now):
    """
    The encoded end of a list entry (L{status_tail}) showing a
    L{status_clock} at time C{now}, and when it may change next (clock
    seconds; infinity for a text no time changes).
    """
    prefix, reference, suffix = clock
    if reference is None:
        return status_tail(prefix), _NEVER
    elapsed = int(now - reference)
    key = (prefix, suffix, elapsed)
    known = _CLOCK_TAILS.get(key)
    if known is None:
        if len(_CLOCK_TAILS) >= _TAILS_KEPT:
            _CLOCK_TAILS.clear()
        known = _CLOCK_TAILS[key] = (status_tail(prefix + human_duration(elapsed) + suffix),
                                     stable_until(elapsed))
    return known[0], reference + known[1]


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
    return clock_text(status_clock(state, times), now)


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

    __slots__ = ("_clock", "_created", "_listing", "_packed", "engine", "info")

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
        self._clock = None
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
        return clock_text(self.status_clock(), now)

    def status_clock(self):
        """
        The container's L{status_clock}, worked out once (its state is
        fixed for the object's life).
        """
        if self._clock is None:
            state = self.state
            times = (parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt")))
            self._clock = status_clock(state, times)
        return self._clock

    def listing_until(self):
        """
        When the kept entry of L{listing_parts} may next change by time
        alone (its status text): infinity for never, 0 before it was made.
        """
        cached = self._listing
        return 0.0 if cached is None else cached[0]

    def listing_parts(self, now):
        """
        The encoded entry of this container in the manager's
        C{GET /containers/json}, as C{(head, tail)}: the entry is
        C{head + tail}, the tail being its C{Status} (the last key) and
        closing brace.  Named C{/node/name}, ports bound on all interfaces
        shown on the node's IP, C{"Host Down"} when its node is not
        healthy.  The head is encoded once per change of the engine's
        specs; the tail is one of few shared objects, worked out again
        only when the time its text may change has come, so a list does
        not work the status of every container out again, and a status
        that moves copies no entry.
        """
        engine = self.engine
        healthy = engine.healthy
        revision = engine.specs_revision
        cached = self._listing
        if cached is not None and cached[2] == revision:
            if now < cached[0] and cached[1] is healthy:
                return cached[3], cached[4]
            head = cached[3]
        else:
            head = self._listing_head(engine)
        if healthy:
            tail, until = clock_tail(self.status_clock(), now)
        else:
            tail, until = HOST_DOWN_TAIL, _NEVER
        self._listing = (until, healthy, revision, head, tail)
        return head, tail

    def _listing_head(self, engine):
        summary = self.summary(0.0)
        del summary["Status"]
        summary["Names"] = ["/" + engine.name + name for name in summary["Names"]]
        for port in summary["Ports"]:
            if port.get("IP") == "0.0.0.0":
                port["IP"] = engine.ip
        return json.dumps(summary, separators=(",", ":")).encode("utf-8")[:-1]
