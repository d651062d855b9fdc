"""
The C{swarm manage} service: discovery, cluster, scheduler and the API on
every C{--host}.
"""

import os
import stat
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, UNIXServerEndpoint

from swarmd._service import RunningService
from swarmd.address import UNIX_PREFIX, split_host_port
from swarmd.api.app import DockerAPI
from swarmd.api.site import DockerSite
from swarmd.cluster.cluster import Cluster
from swarmd.cluster.engine import EngineOptions
from swarmd.cluster.reschedule import RescheduleWatchdog, default_grace
from swarmd.engine import EngineClient
from swarmd.shutdown import DrainFirst, GracefulService
from swarmd.tls import engine_tls, wrap_server_factory

#: Where Linux keeps the kernel's cap on a listen backlog.
SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"

#: The backlog when the kernel's cap cannot be read (Go's own fallback).
DEFAULT_BACKLOG = 128


def listen_backlog(path=SOMAXCONN_PATH):
    """
    The backlog of every listener: the kernel's C{somaxconn}, as dockerd
    (Go's C{net.Listen}) uses, so a burst of connections waits in the
    kernel's queue instead of being reset (Twisted's default is 50).

    @param path: the file holding the kernel's cap.
    @return: a positive C{int}; L{DEFAULT_BACKLOG} when unreadable.
    """
    try:
        with open(path) as f:
            value = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_BACKLOG
    if value <= 0:
        return DEFAULT_BACKLOG
    # Go caps it the same way: the kernel stores the backlog in 16 bits.
    return min(value, 65535)


class ListenError(ValueError):
    """
    A C{--host} value cannot be listened on.
    """


def listen_endpoint(reactor, host, backlog=None):
    """
    The server endpoint for one C{--host} value.

    @param host: C{tcp://addr:port} or C{unix:///path}.
    @param backlog: the listen backlog, L{listen_backlog} when L{None}
        (TLS listeners use these endpoints too).
    """
    if backlog is None:
        backlog = listen_backlog()
    if host.startswith(UNIX_PREFIX):
        path = host[len(UNIX_PREFIX):]
        _remove_stale_socket(path)
        return UNIXServerEndpoint(reactor, path, backlog=backlog, mode=0o660)
    if host.startswith("tcp://"):
        rest = host[len("tcp://"):]
        try:
            address, port = split_host_port(rest)
            number = int(port)
        except ValueError:
            raise ListenError("invalid port in --host %s" % (host,)) from None
        if rest.startswith("["):
            return TCP6ServerEndpoint(reactor, number, backlog=backlog, interface=address)
        return TCP4ServerEndpoint(reactor, number, backlog=backlog,
                                  interface=address or "0.0.0.0")
    raise ListenError("invalid --host %s: use tcp://host:port or unix:///path" % (host,))


def _remove_stale_socket(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(mode):
        os.unlink(path)


class ManagerService(DrainFirst):
    """
    The manager's root service: a L{DrainFirst} that also keeps its parts.

    @ivar cluster: the L{Cluster}.
    @ivar api: the L{DockerAPI}.
    @ivar election: the replication's election, or L{None} without
        C{--replication}.
    @ivar watchdog: the L{RescheduleWatchdog}.
    @ivar metrics: the L{swarmd.metrics.ManagerMetrics}.
    """

    cluster: Cluster
    api: DockerAPI
    election: Any
    watchdog: RescheduleWatchdog
    metrics: Any
    graceful: GracefulService


def make_manager_service(config, reactor=None, status=None):
    """
    Build the manager from C{swarm manage}'s settings.

    @param config: a L{swarmd.config.ManageConfig}.
    @param status: the L{swarmd._exit.ExitStatus} told when stopping was not
        clean (a request cut at the end of C{--shutdown-timeout}).
    @return: an L{IService} (a L{ManagerService}) with
        C{.cluster}, C{.api} and C{.graceful} (the API listeners, drained
        first when stopping).
    """
    if reactor is None:
        from twisted.internet import reactor
    from swarmd.discovery import discovery_for
    from swarmd.scheduler import Scheduler, filters_for, strategy_for

    discovery = discovery_for(config.discovery, heartbeat=config.heartbeat,
                              options=config.discovery_opts, clock=reactor)
    to_engines = engine_tls(config.tls)
    strategy = strategy_for(config.strategy)
    filters = filters_for(list(config.filters))
    cluster = Cluster(
        reactor, discovery,
        lambda address: EngineClient(address, reactor, tls=to_engines),
        Scheduler(strategy, filters),
        EngineOptions(refresh_min=config.engine_refresh_min_interval,
                      refresh_max=config.engine_refresh_max_interval,
                      failure_retry=config.engine_failure_retry,
                      relist_interval=config.engine_relist_interval,
                      overcommit=config.cluster_opts.overcommit),
        create_retry=config.cluster_opts.create_retry,
    )
    api = DockerAPI(cluster, reactor, strategy=strategy.name,
                    filters=[f.name for f in filters], debug=config.debug,
                    refresh_on_node_filter=config.refresh_on_node_filter,
                    container_name_refresh_filter=config.container_name_refresh_filter)
    root = api.resource()
    service = ManagerService()
    service.cluster = cluster
    service.api = api
    service.election = None
    # The cluster runs for as long as the manager does.
    RunningService(cluster).setServiceParent(service)
    # Long-lived objects leave the collector's full collections (swarmd._gc).
    from swarmd._gc import FreezeSurvivors
    from swarmd._malloc import GiveBackFreed, fix_thresholds

    FreezeSurvivors().setServiceParent(service)
    # Large answers reuse the heap's pages; the freed ones go back (swarmd._malloc).
    if fix_thresholds():
        GiveBackFreed(reactor).setServiceParent(service)
    # Rescheduling is the scheduling manager's: a replicated manager runs
    # it only while it is the primary (PrimaryOnly, below).
    grace = config.cluster_opts.reschedule_grace
    if grace is None:
        grace = default_grace(config.engine_refresh_max_interval)
    service.watchdog = RescheduleWatchdog(cluster, reactor, grace)
    if not config.replication:
        service.watchdog.setServiceParent(service)
    if config.replication:
        from swarmd.ha.service import PrimaryOnly, replicate, role_of
        from swarmd.ha.stores import leader_store_for

        election, root, electing = replicate(
            leader_store_for(config.discovery, discovery), config.advertise,
            config.replication_ttl, reactor, cluster, root,
            tls=to_engines)
        api.role = role_of(election)
        election.add_listener(PrimaryOnly(service.watchdog))
        service.election = election
        electing.setServiceParent(service)
        # Stopping gives the leader key up at once: a replica takes the new
        # connections while this manager drains its open ones.
        service.early = (electing,)
    # Metrics of this manager (a registry of its own), answered at /metrics
    # before anything else (a replica's too), and on --metrics-addr alone.
    from swarmd.metrics import InstrumentedRoot, ManagerMetrics, cooperator, metrics_site

    service.metrics = ManagerMetrics(cluster, election=service.election, api=api,
                                     cooperator=cooperator(reactor))
    root = InstrumentedRoot(root, service.metrics)
    if config.metrics_addr:
        listener = StreamServerEndpointService(listen_endpoint(reactor, config.metrics_addr),
                                               metrics_site(service.metrics))
        listener._raiseSynchronously = True
        listener.setServiceParent(service)
    site = DockerSite(root, cors=config.cors)
    factory = wrap_server_factory(config.tls, site) if config.tls.enabled else site
    # Stopping (SIGTERM) stops accepting, then lets open requests and
    # hijacked sessions finish for up to --shutdown-timeout (swarmd.shutdown).
    service.graceful = GracefulService(
        reactor, config.shutdown_timeout,
        on_unclean=None if status is None else (lambda: status.fail(1)))
    service.graceful.setServiceParent(service)
    factory = service.graceful.track(factory)
    for host in config.hosts:
        listener = StreamServerEndpointService(listen_endpoint(reactor, host), factory)
        listener._raiseSynchronously = True
        listener.setServiceParent(service.graceful)
    return service
