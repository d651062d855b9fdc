"""
One container of the fake engine: its state and the two shapes dockerd
20.10 shows it in (C{GET /containers/{id}/json} and an entry of
C{GET /containers/json}).

Kept light, since the simulator holds tens of thousands: slots, the create
request kept as sent, output as a list of lines, everything else computed
when asked.
"""

from swarmd.testing.fakeengine._network import Attachment
from swarmd.testing.fakeengine._proc import command_line
from swarmd.testing.fakeengine._time import NANO, human_duration, rfc3339

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
EXITED = "exited"

#: Lines of output kept per container (older ones are dropped).
MAX_LOG_LINES = 10000

_CONFIG_DEFAULTS = (
    ("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
    ("AttachStdout", False), ("AttachStderr", False), ("ExposedPorts", None), ("Tty", False),
    ("OpenStdin", False), ("StdinOnce", False), ("Env", None), ("Cmd", None),
    ("Image", ""), ("Volumes", None), ("WorkingDir", ""), ("Entrypoint", None),
    ("OnBuild", None), ("Labels", None), ("StopSignal", None), ("StopTimeout", None),
)

_HOST_CONFIG_DEFAULTS = (
    ("Binds", None), ("ContainerIDFile", ""), ("LogConfig", {"Type": "json-file", "Config": {}}),
    ("NetworkMode", "default"), ("PortBindings", None),
    ("RestartPolicy", {"Name": "", "MaximumRetryCount": 0}), ("AutoRemove", False),
    ("VolumeDriver", ""), ("VolumesFrom", None), ("CapAdd", None), ("CapDrop", None),
    ("CgroupnsMode", "host"), ("Dns", None), ("DnsOptions", None), ("DnsSearch", None),
    ("ExtraHosts", None), ("GroupAdd", None), ("IpcMode", "private"), ("Cgroup", ""),
    ("Links", None), ("OomScoreAdj", 0), ("PidMode", ""), ("Privileged", False),
    ("PublishAllPorts", False), ("ReadonlyRootfs", False), ("SecurityOpt", None),
    ("UTSMode", ""), ("UsernsMode", ""), ("ShmSize", 67108864), ("Runtime", "runc"),
    ("ConsoleSize", [0, 0]), ("Isolation", ""), ("CpuShares", 0), ("Memory", 0),
    ("NanoCpus", 0), ("CgroupParent", ""), ("BlkioWeight", 0), ("BlkioWeightDevice", None),
    ("BlkioDeviceReadBps", None), ("BlkioDeviceWriteBps", None),
    ("BlkioDeviceReadIOps", None), ("BlkioDeviceWriteIOps", None), ("CpuPeriod", 0),
    ("CpuQuota", 0), ("CpuRealtimePeriod", 0), ("CpuRealtimeRuntime", 0),
    ("CpusetCpus", ""), ("CpusetMems", ""), ("Devices", None), ("DeviceCgroupRules", None),
    ("DeviceRequests", None), ("KernelMemory", 0), ("KernelMemoryTCP", 0),
    ("MemoryReservation", 0), ("MemorySwap", 0), ("MemorySwappiness", None),
    ("OomKillDisable", False), ("PidsLimit", None), ("Ulimits", None), ("CpuCount", 0),
    ("CpuPercent", 0), ("IOMaximumIOps", 0), ("IOMaximumBandwidth", 0),
)


def _copy(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _with_defaults(given, defaults):
    result = {}
    for key, default in defaults:
        value = given.get(key, default)
        result[key] = _copy(default) if value is None and default is not None else value
    for key, value in given.items():
        if key not in result:
            result[key] = value
    return result


class FakeContainer:
    """
    A container on a L{FakeEngine}.

    @ivar id: 64 hex digits.
    @ivar name: its name, without the leading C{/}.
    @ivar config: the create request's container config (without
        C{HostConfig} and C{NetworkingConfig}).
    @ivar host_config: the create request's C{HostConfig}.
    @ivar network: the name of the network of its C{NetworkMode}.
    @ivar networks: C{{name: Attachment}}: every network it is on.
    @ivar status: C{created}, C{running}, C{paused} or C{exited}.
    @ivar logs: its output: C{(ns, stream, bytes)} per line.
    @ivar files: L{None}, or C{{path: bytes}} of the files its process
        wrote or a C{PUT .../archive} put there (what a build step's or a
        commit's layer holds).
    @ivar meta: L{None}, or C{{path: Entry}} (L{swarmd.testing.fakeengine._fs})
        of the folders, links and file modes of its read-write layer.
    @ivar exec_ids: L{None}, or the IDs of its exec instances not yet ended
        (C{ExecIDs} of its inspect).
    @ivar attached: L{None}, or the callbacks of the attached streams
        (given each output entry, then L{None} when it stops).
    """

    __slots__ = (
        "id", "name", "created", "config", "host_config", "image_id", "path", "args",
        "network", "networks", "status", "pid", "exit_code", "error", "started", "finished",
        "restart_count", "logs", "ports", "volumes", "timer", "resume", "waiters",
        "followers", "stoppers", "stop_timer", "attributes", "files", "meta", "exec_ids",
        "attached",
    )

    def __init__(self, id, name, created, config, host_config, image_id, path, args,
                 network):
        self.id = id
        self.name = name
        self.created = created
        self.config = config
        self.host_config = host_config
        self.image_id = image_id
        self.path = path
        self.args = args
        self.network = network
        self.networks = {network: Attachment()} if network else {}
        self.status = CREATED
        self.pid = 0
        self.exit_code = 0
        self.error = ""
        self.started = None
        self.finished = None
        self.restart_count = 0
        self.logs = []
        self.ports = None
        self.volumes = ()
        self.timer = None
        self.resume = None
        self.waiters = None
        self.followers = None
        self.stoppers = None
        self.stop_timer = None
        self.attributes = None
        self.files = None
        self.meta = None
        self.exec_ids = None
        self.attached = None

    def __repr__(self):
        return "<FakeContainer %s %s %s>" % (self.name, self.id[:12], self.status)

    @property
    def running(self):
        """
        Running or paused (dockerd's C{State.Running}).
        """
        return self.status in (RUNNING, PAUSED)

    @property
    def labels(self):
        return self.config.get("Labels") or {}

    @property
    def tty(self):
        return bool(self.config.get("Tty"))

    def event_attributes(self):
        """
        The C{Actor.Attributes} of its events: labels, C{image}, C{name}
        (one dict shared by its events until it is renamed).
        """
        if self.attributes is None:
            attributes = dict(self.labels)
            attributes["image"] = self.config.get("Image", "")
            attributes["name"] = self.name
            self.attributes = dict(sorted(attributes.items()))
        return self.attributes

    def add_output(self, ns, stream, data):
        """
        Record output, one entry per line.

        @return: the entries added.
        """
        if self.tty:
            stream = 1
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        entries = []
        for line in data.splitlines(True):
            entries.append((ns, stream, line))
        self.logs.extend(entries)
        if len(self.logs) > MAX_LOG_LINES:
            del self.logs[:len(self.logs) - MAX_LOG_LINES]
        return entries

    def rw_size(self):
        """
        The bytes of the files it wrote (C{SizeRw}).
        """
        return sum(len(data) for data in (self.files or {}).values())

    def state_text(self, now_ns):
        """
        The C{Status} column of C{docker ps}.
        """
        if self.status == PAUSED:
            return "Up %s (Paused)" % (human_duration((now_ns - self.started) / NANO),)
        if self.status == RUNNING:
            return "Up %s" % (human_duration((now_ns - self.started) / NANO),)
        if self.started is None:
            return "Created"
        if self.finished is None:
            return ""
        return "Exited (%d) %s ago" % (self.exit_code,
                                       human_duration((now_ns - self.finished) / NANO))

    # -- networking -----------------------------------------------------------

    def port_list(self):
        """
        The C{Ports} of its summary.
        """
        if self.status not in (RUNNING, PAUSED):
            return []
        result = []
        exposed = set(self.config.get("ExposedPorts") or {})
        bound = self.ports or {}
        for key in sorted(exposed | set(bound), key=_port_key):
            number, proto = _port_key(key)
            bindings = bound.get(key)
            if not bindings:
                result.append({"PrivatePort": number, "Type": proto})
                continue
            for binding in bindings:
                result.append({"IP": binding["HostIp"], "PrivatePort": number,
                               "PublicPort": int(binding["HostPort"]), "Type": proto})
        return result

    def network_settings(self, full):
        """
        C{NetworkSettings}: the whole of it (inspect) or only C{Networks}
        (summary).  The top-level addresses are the default bridge's, as
        dockerd shows them.
        """
        entries = {name: self.networks[name].entry() for name in sorted(self.networks)}
        if not full:
            return {"Networks": entries}
        main = entries.get("bridge") or {"EndpointID": "", "Gateway": "", "IPAddress": "",
                                         "IPPrefixLen": 0, "MacAddress": ""}
        ports = {}
        if self.status in (RUNNING, PAUSED):
            for key in self.config.get("ExposedPorts") or {}:
                ports[key] = None
            for key, bindings in (self.ports or {}).items():
                ports[key] = [dict(b) for b in bindings]
        return {
            "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": ports, "SandboxKey": "",
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": main["EndpointID"], "Gateway": main["Gateway"],
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "IPAddress": main["IPAddress"], "IPPrefixLen": main["IPPrefixLen"],
            "IPv6Gateway": "", "MacAddress": main["MacAddress"], "Networks": entries,
        }

    # -- the two shapes -------------------------------------------------------

    def mounts(self, volumes):
        """
        C{Mounts}: its anonymous and named volumes.
        """
        result = []
        for name, destination in self.volumes:
            volume = volumes.get(name)
            result.append({
                "Type": "volume", "Name": name,
                "Source": volume["Mountpoint"] if volume else "",
                "Destination": destination, "Driver": "local", "Mode": "", "RW": True,
                "Propagation": "",
            })
        return result

    def inspect(self, engine):
        """
        @param engine: its L{FakeEngine} (networks, volumes, driver).
        @return: C{GET /containers/{id}/json}.
        """
        config = _with_defaults(self.config, _CONFIG_DEFAULTS)
        if not config["Hostname"]:
            config["Hostname"] = self.id[:12]
        for key in ("StopSignal", "StopTimeout"):
            if config[key] is None:
                del config[key]
        host_config = _with_defaults(self.host_config, _HOST_CONFIG_DEFAULTS)
        folder = "%s/containers/%s" % (engine.root_dir, self.id)
        return {
            "Id": self.id,
            "Created": rfc3339(self.created),
            "Path": self.path,
            "Args": list(self.args),
            "State": {
                "Status": self.status,
                "Running": self.running,
                "Paused": self.status == PAUSED,
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": self.pid,
                "ExitCode": self.exit_code,
                "Error": self.error,
                "StartedAt": rfc3339(self.started),
                "FinishedAt": rfc3339(self.finished),
            },
            "Image": self.image_id,
            "ResolvConfPath": folder + "/resolv.conf",
            "HostnamePath": folder + "/hostname",
            "HostsPath": folder + "/hosts",
            "LogPath": "%s/%s-json.log" % (folder, self.id),
            "Name": "/" + self.name,
            "RestartCount": self.restart_count,
            "Driver": engine.driver,
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": list(self.exec_ids) if self.exec_ids else None,
            "HostConfig": host_config,
            "GraphDriver": {"Data": None, "Name": engine.driver},
            "Mounts": self.mounts(engine.volumes),
            "Config": config,
            "NetworkSettings": self.network_settings(True),
        }

    def summary(self, engine, now_ns, size=False):
        """
        @return: its entry in C{GET /containers/json}.
        """
        result = {
            "Id": self.id,
            "Names": ["/" + self.name],
            "Image": self.config.get("Image", ""),
            "ImageID": self.image_id,
            "Command": command_line(self.path, self.args),
            "Created": self.created // NANO,
            "Ports": self.port_list(),
        }
        if size:
            written = self.rw_size()
            if written:
                result["SizeRw"] = written
            result["SizeRootFs"] = engine.image_size(self.image_id) + written
        result.update({
            "Labels": dict(self.labels),
            "State": self.status,
            "Status": self.state_text(now_ns),
            "HostConfig": {"NetworkMode": self.host_config.get("NetworkMode") or "default"},
            "NetworkSettings": self.network_settings(False),
            "Mounts": self.mounts(engine.volumes),
        })
        return result


def _port_key(key):
    number, _, proto = key.partition("/")
    try:
        return int(number), proto or "tcp"
    except ValueError:
        return 0, proto or "tcp"
