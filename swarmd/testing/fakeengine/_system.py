"""
What a fake engine says about itself: C{GET /version} and C{GET /info}, in
dockerd 20.10's shape.
"""

from swarmd import API_VERSION, MIN_API_VERSION
from swarmd.testing.fakeengine._time import NANO, rfc3339

#: C{ServerVersion} of every fake.
SERVER_VERSION = "20.10.24-fake"


def version_of(engine):
    """
    @param engine: a L{FakeEngine}.
    @return: its C{GET /version}.
    """
    details = {"ApiVersion": API_VERSION, "Arch": "amd64",
               "BuildTime": "2023-04-05T00:00:00.000000000+00:00", "Experimental": "false",
               "GitCommit": "fake", "GoVersion": "go1.19.8",
               "KernelVersion": engine.kernel_version, "MinAPIVersion": MIN_API_VERSION,
               "Os": "linux"}
    return {
        "Platform": {"Name": ""},
        "Components": [{"Name": "Engine", "Version": SERVER_VERSION, "Details": details}],
        "Version": SERVER_VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "fake",
        "GoVersion": "go1.19.8",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": engine.kernel_version,
        "BuildTime": details["BuildTime"],
    }


def info_of(engine):
    """
    @param engine: a L{FakeEngine}.
    @return: its C{GET /info}.
    """
    total, running, paused, stopped = engine.counts()
    return {
        "ID": engine.id,
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": len(engine.images),
        "Driver": engine.driver,
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                         ["Native Overlay Diff", "true"], ["userxattr", "false"]],
        "Plugins": {"Volume": ["local"],
                    "Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                    "Authorization": None,
                    "Log": ["json-file", "local", "syslog"]},
        "MemoryLimit": True, "SwapLimit": True, "KernelMemory": True,
        "KernelMemoryTCP": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "BridgeNfIptables": True, "BridgeNfIp6tables": True, "Debug": False,
        "NFd": 24, "OomKillDisable": True, "NGoroutines": 40,
        "SystemTime": rfc3339(int(engine.clock.seconds() * NANO)),
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "1",
        "NEventsListener": engine.events.listeners,
        "KernelVersion": engine.kernel_version,
        "OperatingSystem": engine.operating_system,
        "OSVersion": "12", "OSType": "linux", "Architecture": "x86_64",
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [],
                           "AllowNondistributableArtifactsHostnames": [],
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                           "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [],
                                                          "Secure": True, "Official": True}},
                           "Mirrors": []},
        "NCPU": engine.ncpu,
        "MemTotal": engine.mem_total,
        "GenericResources": None,
        "DockerRootDir": engine.root_dir,
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Name": engine.name,
        "Labels": list(engine.labels),
        "ExperimentalBuild": False,
        "ServerVersion": SERVER_VERSION,
        "Runtimes": {"runc": {"path": "runc"}},
        "DefaultRuntime": "runc",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "fake", "Expected": "fake"},
        "RuncCommit": {"ID": "fake", "Expected": "fake"},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": None,
    }
