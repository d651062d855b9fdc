"""
Where objects that belong to a node go.

  - L{node_engine}: the engine a C{<node>/<name>} reference pins to;
  - L{eligible_engines} and L{scheduled_engine}: the engines the scheduler
    allows (best first), and the one it picks, for a network or a volume
    (no container: health, the strategy and the object's own
    constraint, affinity and whitelist labels decide);
  - L{pin_create_body}: a container create body that names node-local
    networks (C{--net n2/backend}) or volumes (C{-v n1/data:/d}) gets the
    bare names the engine knows and a C{constraint:node==...} that keeps
    it on the node holding them, as classic Swarm does for networks.
"""

import copy
import re

from swarmd.api._networks_view import PREDEFINED
from swarmd.api._scoped_view import split_node
from swarmd.api._volumes_placement import pin_volumes
from swarmd.api.errors import DockerError, bad_request, not_found


def node_engine(cluster, node):
    """
    The healthy engine a C{<node>/...} reference names.

    @param node: a node name or engine ID.
    @return: the L{swarmd.cluster.Engine}.
    @raise DockerError: 404 for an unknown node, 500 for an unhealthy one.
    """
    engine = cluster.engine(node)
    if engine is None:
        raise not_found("node %s not found in the cluster" % (node,))
    if not engine.healthy:
        raise DockerError(500, "node %s is not healthy" % (node,))
    return engine


def eligible_engines(cluster, labels=None):
    """
    The healthy engines an object that is not a container (a network, a
    volume) may go to, best first: the scheduler's filters and strategy
    over a container config holding only the object's labels, so that
    C{com.docker.swarm.constraints}, C{affinities} and C{whitelists}
    labels choose nodes as they do for a container (classic Swarm); without
    them, health and load alone decide.

    @param labels: the object's C{Labels}, or L{None}.
    @return: a non-empty C{list} of L{swarmd.cluster.Engine}s.
    @raise DockerError: 400 for a bad expression in the labels, 500 with
        the scheduler's message when no node fits.
    """
    from swarmd.scheduler import ContainerConfig, ExpressionError, SchedulerError

    if labels is not None and not isinstance(labels, dict):
        raise bad_request("invalid Labels: expected a JSON object")
    try:
        config = ContainerConfig.from_create_body({"Image": "", "Labels": labels or {}})
    except ExpressionError as e:
        raise bad_request(str(e)) from None
    # Whatever filters the manager runs with, an object never goes to a
    # node that cannot be reached.
    nodes = [node for node in cluster.nodes() if node.healthy]
    if not nodes:
        raise DockerError(500, "No healthy node available in the cluster")
    try:
        ranked = cluster.scheduler.rank(config, nodes)
    except SchedulerError as e:
        raise DockerError(500, str(e)) from None
    engines = [cluster.engines[node.addr] for node in ranked if node.addr in cluster.engines]
    if not engines:
        raise DockerError(500, "node %s left the cluster" % (ranked[0].name,))
    return engines


def scheduled_engine(cluster, labels=None):
    """
    The engine the scheduler picks for an object that is not a container:
    the first of L{eligible_engines}.

    @raise DockerError: as L{eligible_engines}.
    """
    return eligible_engines(cluster, labels)[0]


def node_constraint(names):
    """
    A constraint expression that holds on the named nodes only.

    @param names: node names (at least one).
    @return: C{node==n2}, or C{node==/^(?:n1|n2)$/} for several.
    """
    names = sorted(set(names))
    if len(names) == 1:
        return "node==" + names[0]
    return "node==/^(?:%s)$/" % ("|".join(re.escape(n) for n in names),)


def _engine_named(engines, node):
    for engine in engines:
        if node in (engine.name, engine.id):
            return engine
    return None


def _network_nodes(reference, engines):
    """
    Where a network a container asks for lives.

    @return: C{(node names or None, name to give the engine)}: L{None}
        when it does not restrict the container (predefined, container
        mode, global, on every node, or unknown).
    """
    if not reference or reference in PREDEFINED or reference.startswith("container:"):
        return None, reference
    node, name = split_node(reference)
    if node is not None:
        engine = _engine_named(engines, node)
        if engine is None:
            return None, reference
        return {engine.name}, name
    holding = set()
    for engine in engines:
        for network in engine.networks or ():
            if reference not in (network.get("Name"), network.get("Id")):
                continue
            if (network.get("Scope") or "local") != "local":
                return None, reference
            holding.add(engine.name)
    if not holding or holding == {e.name for e in engines}:
        return None, reference
    return holding, reference


def pin_networks(body, engines):
    """
    Rewrite the networks of a create body in place: C{<node>/<name>} in
    C{HostConfig.NetworkMode} and the C{NetworkingConfig.EndpointsConfig}
    keys become C{<name>}.

    @param body: a create body (changed).
    @param engines: every engine of the cluster.
    @return: a C{list} of constraint expressions to add, one per network
        that only some nodes hold (a bare name on some nodes only too).
    """
    host = body.get("HostConfig")
    networking = body.get("NetworkingConfig")
    endpoints = networking.get("EndpointsConfig") if isinstance(networking, dict) else None
    references = []
    if isinstance(host, dict) and isinstance(host.get("NetworkMode"), str):
        references.append(host["NetworkMode"])
    if isinstance(endpoints, dict):
        references.extend(endpoints)
    constraints = []
    renamed = {}
    for reference in dict.fromkeys(references):
        nodes, name = _network_nodes(reference, engines)
        if nodes is None:
            continue
        constraints.append(node_constraint(nodes))
        renamed[reference] = name
    if renamed:
        if isinstance(host, dict) and host.get("NetworkMode") in renamed:
            host["NetworkMode"] = renamed[host["NetworkMode"]]
        if isinstance(endpoints, dict):
            networking["EndpointsConfig"] = {renamed.get(k, k): v for k, v in endpoints.items()}
    return list(dict.fromkeys(constraints))


def pin_create_body(body, engines):
    """
    The create body to schedule: node-prefixed networks and volumes made
    bare, and a C{constraint:node==...} entry in C{Env} for each node
    restriction they bring (the scheduler then moves it to the labels like
    any other constraint).  Call it before
    L{swarmd.scheduler.ContainerConfig.from_create_body}.

    @param body: the client's create body (not changed).
    @param engines: every engine of the cluster.
    @return: C{body} itself when nothing is pinned, else a new C{dict}.
    """
    if not isinstance(body, dict):
        return body
    pinned = copy.deepcopy(body)
    constraints = pin_networks(pinned, engines) + pin_volumes(pinned, engines)
    if not constraints:
        return body
    env = pinned.get("Env")
    if not isinstance(env, list):
        env = []
    pinned["Env"] = env + ["constraint:" + c for c in dict.fromkeys(constraints)]
    return pinned
