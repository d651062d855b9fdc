"""
C{swarm manage}: the flags of a manager, checked into a
L{swarmd.config.ManageConfig}.
"""

from __future__ import annotations

from twisted.python import usage

from swarmd import config as _config
from swarmd._checks import check_host, cluster_options, unreadable
from swarmd.options._command import LOG_FORMAT_PARAMETER, DiscoveryCommand

__all__ = ["ManageOptions"]


class ManageOptions(DiscoveryCommand):
    """
    Manage a docker cluster: serve the Docker API in front of the engines the
    discovery lists.
    """

    _verb = "manage"
    _name = "manage"
    _aliases = {"addr": "advertise", "cors": "api-enable-cors"}

    optFlags = [
        ["replication", None, "Enable Swarm manager replication."],
        ["tls", None, "Use TLS; implied by --tlsverify."],
        ["tlsverify", None, "Use TLS and verify the remote."],
        [
            "refresh-on-node-filter",
            None,
            "Refresh the cache when a ContainerList call comes in with a node filter.",
        ],
    ]

    optParameters = [
        ["strategy", None, "spread", "Placement strategy to use [spread, binpack, random]."],
        ["replication-ttl", None, "20s", "Leader lock release time on failure."],
        [
            "tlscacert",
            None,
            None,
            "Trust only remotes providing a certificate signed by the CA given here.",
        ],
        ["tlscert", None, None, "Path to TLS certificate file."],
        ["tlskey", None, None, "Path to TLS key file."],
        ["engine-refresh-min-interval", None, "30s", "Engine refresh minimum interval."],
        ["engine-refresh-max-interval", None, "60s", "Engine refresh maximum interval."],
        ["engine-failure-retry", None, "3", "Engine failure retry count."],
        [
            "engine-relist-interval",
            None,
            "10m",
            "While an engine's events stream is open, how often its containers, images, "
            "networks and volumes are listed again (events keep them current; refreshes "
            "in between only ping it). 0: on every refresh, as classic Swarm.",
        ],
        [
            "engine-refresh-retry",
            None,
            "3",
            "Deprecated; replaced by --engine-failure-retry.",
        ],
        ["heartbeat", None, "60s", "Period between each heartbeat (discovery poll period)."],
        [
            "metrics-addr",
            None,
            None,
            "Also serve /metrics (Prometheus) on this host:port, plain HTTP and nothing "
            "else (it is always on the API listeners too).",
        ],
        ["cluster-driver", "c", "swarm", "Cluster driver to use [swarm]."],
        [
            "container-name-refresh-filter",
            None,
            "",
            "If set, refresh the cache when a ContainerList call comes in with "
            "a name filter set to this value.",
        ],
        [
            "shutdown-timeout",
            None,
            "10s",
            "On SIGTERM, how long open requests and hijacked sessions (attach, exec, logs -f, "
            "events) get to finish before they are closed.",
        ],
        LOG_FORMAT_PARAMETER,
    ]

    def __init__(self, environ=None, check_url=None):
        super().__init__(environ=environ, check_url=check_url)
        self["host"] = []
        self["filter"] = []
        self["cluster-opt"] = []
        self["advertise"] = None
        self["api-enable-cors"] = False

    def opt_host(self, value):
        """
        Address to listen on, tcp://host:port or unix:///path (repeatable; env
        SWARM_HOST, comma-separated) [default: tcp://127.0.0.1:2375].
        """
        self["host"].append(value)

    opt_H = opt_host

    def opt_filter(self, value):
        """
        Filter to use (repeatable; replaces the default list) [health, port, containerslots,
        dependency, affinity, constraint, whitelist].
        """
        self["filter"].append(value)

    opt_f = opt_filter

    def opt_cluster_opt(self, value):
        """
        Cluster driver options, key=value (repeatable): swarm.overcommit, swarm.createretry,
        swarm.reschedule-grace.
        """
        self["cluster-opt"].append(value)

    def opt_advertise(self, value):
        """
        Address of this manager for other managers, host:port (alias --addr; env SWARM_ADVERTISE;
        needed by --replication).
        """
        self["advertise"] = value

    def opt_api_enable_cors(self):
        """
        Enable CORS headers in the remote API (alias --cors).
        """
        self["api-enable-cors"] = True

    def _tls(self):
        tls = self._flag("tls")
        verify = self._flag("tlsverify")
        cacert, cert, key = self["tlscacert"], self["tlscert"], self["tlskey"]
        if tls or verify:
            if cert is None or key is None:
                raise usage.UsageError(
                    "--tlscert and --tlskey must be provided when using --tls"
                )
            if verify and cacert is None:
                raise usage.UsageError(
                    "--tlscacert must be provided when using --tlsverify"
                )
            # Classic Swarm's messages, with Go's "open PATH: REASON".
            for flag, path in (("tlscert", cert), ("tlskey", key)):
                problem = unreadable(path)
                if problem:
                    raise usage.UsageError(
                        f"Couldn't load X509 key pair ({cert}, {key}): {problem}. "
                        f"Key encrypted? (--{flag})"
                    )
            problem = unreadable(cacert)
            if problem:
                raise usage.UsageError(
                    f"Couldn't read CA certificate: {problem} (--tlscacert)"
                )
        elif cacert is not None or cert is not None or key is not None:
            raise usage.UsageError(
                "--tlscert, --tlskey and --tlscacert require the use of either "
                "--tls or --tlsverify"
            )
        return _config.TLSOptions(
            tls=tls or verify, verify=verify, cacert=cacert, cert=cert, key=key
        )

    def _hosts(self):
        hosts = self["host"]
        if not hosts:
            env = self._environ.get("SWARM_HOST", "")
            hosts = [h.strip() for h in env.split(",") if h.strip()]
        if not hosts:
            return _config.ManageConfig.__attrs_attrs__.hosts.default
        return tuple(check_host(h) for h in hosts)

    def postOptions(self):
        tls = self._tls()

        minimum = self._duration("engine-refresh-min-interval")
        maximum = self._duration("engine-refresh-max-interval")
        if minimum <= 0:
            raise usage.UsageError(
                "min refresh interval should be a positive number "
                f"(--engine-refresh-min-interval {self['engine-refresh-min-interval']})"
            )
        if maximum < minimum:
            raise usage.UsageError(
                "max refresh interval cannot be less than min refresh interval "
                f"(--engine-refresh-max-interval {self['engine-refresh-max-interval']}, "
                f"--engine-refresh-min-interval {self['engine-refresh-min-interval']})"
            )
        if self._integer("engine-refresh-retry") != 3:
            raise usage.UsageError(
                "--engine-refresh-retry is deprecated. Use --engine-failure-retry"
            )
        failure_retry = self._integer("engine-failure-retry")
        if failure_retry <= 0:
            raise usage.UsageError(
                f"invalid failure retry count {failure_retry}: "
                "--engine-failure-retry must be at least 1"
            )

        discovery = self._discovery()
        heartbeat = self._heartbeat()

        # Any strategy and filter the scheduler's registry knows, registered
        # ones included.
        from swarmd.scheduler import filter_names, strategy_names
        from swarmd.scheduler.registry import STRATEGY_ALIASES

        strategies = strategy_names()
        strategy = STRATEGY_ALIASES.get(self["strategy"], self["strategy"])
        if strategy not in strategies:
            raise usage.UsageError(
                f"strategy not supported: {self['strategy']!r} "
                f"(options: {', '.join(strategies)})"
            )

        known = filter_names()
        filters = tuple(self["filter"]) or _config.DEFAULT_FILTERS
        for name in filters:
            if name not in known:
                raise usage.UsageError(
                    f"filter not supported: {name!r} (options: {', '.join(known)})"
                )

        if self["cluster-driver"] != "swarm":
            raise usage.UsageError(
                f'unsupported cluster "{self["cluster-driver"]}" '
                "(--cluster-driver options: swarm)"
            )
        cluster_opts = cluster_options(self["cluster-opt"])

        hosts = self._hosts()
        advertise = self._advertise(self["advertise"])
        replication_ttl = self._duration("replication-ttl")
        if replication_ttl <= 0:
            raise usage.UsageError(
                f"--replication-ttl should be a positive number (got {self['replication-ttl']})"
            )
        replication = self._flag("replication")
        if replication:
            if advertise is None:
                raise usage.UsageError(
                    "--advertise address must be provided when using --leader-election "
                    "(--replication needs this manager's host:port)"
                )
            if discovery.partition("://")[0] not in ("consul", "etcd", "zk"):
                raise usage.UsageError(
                    "Leader election is only supported with consul, etcd and "
                    "zookeeper discovery."
                )
            if discovery.startswith("consul://") and replication_ttl < 10:
                raise usage.UsageError(
                    "--replication-ttl should be at least 10s with consul discovery "
                    "(consul refuses shorter sessions)"
                )
            if discovery.startswith("etcd://") and ("etcd.api", "v2") in self._discovery_opts():
                raise usage.UsageError(
                    "Leader election needs etcd's v3 API: drop --discovery-opt etcd.api=v2"
                )
        discovery_opts = self._discovery_opts()
        metrics_addr = self["metrics-addr"]
        if metrics_addr:
            try:
                metrics_addr = check_host(metrics_addr)
            except usage.UsageError:
                raise usage.UsageError(
                    f"invalid --metrics-addr {metrics_addr!r}: use host:port "
                    "(e.g. 127.0.0.1:9323)"
                ) from None
        relist = self._unsigned_duration("engine-relist-interval")
        shutdown_timeout = self._unsigned_duration("shutdown-timeout")

        self.config = _config.ManageConfig(
            discovery=discovery,
            hosts=hosts,
            strategy=strategy,
            filters=filters,
            replication=replication,
            replication_ttl=replication_ttl,
            advertise=advertise,
            tls=tls,
            engine_refresh_min_interval=minimum,
            engine_refresh_max_interval=maximum,
            engine_failure_retry=failure_retry,
            engine_relist_interval=relist,
            heartbeat=heartbeat,
            cors=self._flag("api-enable-cors"),
            cluster_driver="swarm",
            cluster_opts=cluster_opts,
            discovery_opts=discovery_opts,
            refresh_on_node_filter=self._flag("refresh-on-node-filter"),
            container_name_refresh_filter=self["container-name-refresh-filter"],
            metrics_addr=metrics_addr or None,
            shutdown_timeout=shutdown_timeout,
            log_format=self._log_format(),
            **self._globals(),
        )
