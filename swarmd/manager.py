"""
The C{swarm manage} service: discovery, cluster, scheduler and the API on
every C{--host}.
"""

import os
import stat

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, UNIXServerEndpoint
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.api.app import DockerAPI
from swarmd.api.site import DockerSite
from swarmd.cluster.cluster import Cluster
from swarmd.cluster.engine import EngineOptions
from swarmd.engine import EngineClient
from swarmd.tls import engine_tls, wrap_server_factory


class ListenError(ValueError):
    """
    A C{--host} value cannot be listened on.
    """


def listen_endpoint(reactor, host):
    """
    The server endpoint for one C{--host} value.

    @param host: C{tcp://addr:port} or C{unix:///path}.
    """
    if host.startswith("unix://"):
        path = host[len("unix://"):]
        _remove_stale_socket(path)
        return UNIXServerEndpoint(reactor, path, mode=0o660)
    if host.startswith("tcp://"):
        address, _, port = host[len("tcp://"):].rpartition(":")
        try:
            number = int(port)
        except ValueError:
            raise ListenError("invalid port in --host %s" % (host,)) from None
        address = address or "0.0.0.0"
        if address.startswith("[") and address.endswith("]"):
            return TCP6ServerEndpoint(reactor, number, interface=address[1:-1])
        return TCP4ServerEndpoint(reactor, number, interface=address)
    raise ListenError("invalid --host %s: use tcp://host:port or unix:///path" % (host,))


def _remove_stale_socket(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(mode):
        os.unlink(path)


class ClusterService(Service):
    """
    Runs the cluster for as long as the service runs.
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster):
        self.cluster = cluster

    def startService(self):
        Service.startService(self)
        self.cluster.start()

    def stopService(self):
        Service.stopService(self)
        return self.cluster.stop()


def make_manager_service(config, reactor=None):
    """
    Build the manager from C{swarm manage}'s settings.

    @param config: a L{swarmd.config.ManageConfig}.
    @return: an L{IService} (a L{MultiService}) with C{.cluster} and C{.api}.
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
                      overcommit=config.cluster_opts.overcommit),
        create_retry=config.cluster_opts.create_retry,
    )
    api = DockerAPI(cluster, reactor, strategy=strategy.name,
                    filters=[f.name for f in filters], debug=config.debug,
                    refresh_on_node_filter=config.refresh_on_node_filter,
                    container_name_refresh_filter=config.container_name_refresh_filter)
    site = DockerSite(api.resource(), cors=config.cors)
    factory = wrap_server_factory(config.tls, site) if config.tls.enabled else site

    service = MultiService()
    service.cluster = cluster
    service.api = api
    ClusterService(cluster).setServiceParent(service)
    for host in config.hosts:
        listener = StreamServerEndpointService(listen_endpoint(reactor, host), factory)
        listener._raiseSynchronously = True
        listener.setServiceParent(service)
    return service
