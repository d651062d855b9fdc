"""
Validated settings of the C{swarm} subcommands.

L{swarmd.tap} turns command-line flags and environment variables into these
objects; everything else reads them.  Durations are in seconds (floats).
"""

from __future__ import annotations

import attr

DEFAULT_FILTERS = (
    "health",
    "port",
    "containerslots",
    "dependency",
    "affinity",
    "constraint",
    "whitelist",
)

STRATEGIES = ("spread", "binpack", "random")


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class ClusterOptions:
    """
    The C{--cluster-opt swarm.*} settings.

    @ivar overcommit: fraction of CPU and memory to overcommit (0.05 = 5%).
    @ivar create_retry: how many times a failed create is retried on another
        node.
    @ivar reschedule_grace: seconds a node stays unhealthy before its
        containers with the C{on-node-failure} policy are rescheduled;
        L{None}: a few refresh intervals.
    """

    overcommit: float = 0.05
    create_retry: int = 0
    reschedule_grace: float | None = None


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class TLSOptions:
    """
    The C{--tls*} settings, shared by the client-facing listener and the
    connections to engines (as classic Swarm does).
    """

    tls: bool = False
    verify: bool = False
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None

    @property
    def enabled(self) -> bool:
        return self.tls or self.verify


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class ManageConfig:
    """
    Settings of C{swarm manage}.
    """

    discovery: str
    hosts: tuple[str, ...] = ("tcp://127.0.0.1:2375",)
    strategy: str = "spread"
    filters: tuple[str, ...] = DEFAULT_FILTERS
    replication: bool = False
    replication_ttl: float = 20.0
    advertise: str | None = None
    tls: TLSOptions = TLSOptions()
    engine_refresh_min_interval: float = 30.0
    engine_refresh_max_interval: float = 60.0
    engine_failure_retry: int = 3
    #: Seconds between full re-lists of an engine whose events stream is
    #: open (see L{swarmd.cluster.engine.EngineOptions.relist_interval}).
    engine_relist_interval: float = 600.0
    heartbeat: float = 60.0
    cors: bool = False
    cluster_driver: str = "swarm"
    cluster_opts: ClusterOptions = ClusterOptions()
    discovery_opts: tuple[tuple[str, str], ...] = ()
    refresh_on_node_filter: bool = False
    container_name_refresh_filter: str = ""
    #: Where C{/metrics} is also served alone (C{tcp://host:port}), or
    #: L{None}.
    metrics_addr: str | None = None
    #: Seconds open requests and hijacked sessions get to finish on SIGTERM.
    shutdown_timeout: float = 10.0
    #: C{text} or C{json} (see L{swarmd._log}).
    log_format: str = "text"
    debug: bool = False
    log_level: str = "info"
    experimental: bool = False


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class JoinConfig:
    """
    Settings of C{swarm join}.
    """

    discovery: str
    advertise: str
    heartbeat: float = 60.0
    ttl: float = 180.0
    delay: float = 0.0
    discovery_opts: tuple[tuple[str, str], ...] = ()
    #: C{text} or C{json} (see L{swarmd._log}).
    log_format: str = "text"
    debug: bool = False
    log_level: str = "info"


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class ListConfig:
    """
    Settings of C{swarm list}.
    """

    discovery: str
    timeout: float = 10.0
    discovery_opts: tuple[tuple[str, str], ...] = ()
    debug: bool = False
    log_level: str = "info"


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class CreateConfig:
    """
    Settings of C{swarm create}.
    """

    #: The token service (C{SWARM_TOKEN_URL}), or L{None}.
    token_url: str | None = None
    debug: bool = False
    log_level: str = "info"


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class TokenServiceConfig:
    """
    Settings of C{swarm token-service}.
    """

    listen: str = "tcp:8500:interface=127.0.0.1"
    data: str = ""
    debug: bool = False
    log_level: str = "info"
