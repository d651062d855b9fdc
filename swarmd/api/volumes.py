"""
Volume routes.

Volumes are named C{<node>/<name>} through the manager (see
L{swarmd.api._volumes_view}).  As in classic Swarm, a volume created with
a bare name is created on every healthy node (the ones its
C{com.docker.swarm.*} labels allow), and removing a bare name removes it
wherever it is; C{<node>/<name>} acts on that node only; an anonymous
volume goes to the node the scheduler picks.  Every change refreshes the
cached volume lists before the answer.
"""

from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.api._fanout import (
    client_query,
    combine_failures,
    refresh_lists,
    status_of,
)
from swarmd.api._helpers import arg, json_answer, read_json
from swarmd.api._networks_placement import eligible_engines, node_engine, scheduled_engine
from swarmd.api._routing import EngineRouting
from swarmd.api._scoped_view import split_node
from swarmd.api._volumes_view import (
    VOLUME_FILTERS,
    VolumeEntry,
    cluster_volumes,
    find_volume,
    no_such_volume,
    unique_volumes,
    volume_filter,
    volumes_in_use,
)
from swarmd.api.errors import DockerError, bad_request
from swarmd.api.listfilters import parse_filters
from swarmd.api.networks import engine_raw, json_body
from swarmd.engine import EngineError


class VolumeRoutes(EngineRouting):
    """
    C{/volumes/...}
    """

    _log = Logger(observer=observer)

    def volumes(self, request, version=None):
        """
        C{GET /volumes}: every engine's cached volumes; a warning per node
        whose list may be stale because it is not healthy.
        """
        filters = parse_filters(arg(request, "filters"), VOLUME_FILTERS)
        engines = list(self.cluster.engines.values())
        keep = volume_filter(filters, volumes_in_use(engines))
        shown = [entry.summary() for entry in unique_volumes(cluster_volumes(engines))
                 if keep(entry)]
        warnings = ["node %s is %s: its volumes may be out of date" % (
            engine.name or engine.address, engine.state.lower())
            for engine in engines if not engine.healthy]
        return json_answer(request, {"Volumes": shown, "Warnings": warnings})

    @inlineCallbacks
    def volume(self, request, volumename, version=None):
        """
        C{GET /volumes/{name}}: the engine's live inspect of C{<node>/<name>},
        of a name only one node holds, or of a name several nodes hold alike
        (see L{find_volume}), as the engine wrote it: its own C{Name}, as
        classic Swarm answers (the same bytes as C{docker -H <engine>
        volume inspect}).
        """
        entry = find_volume(cluster_volumes(self.cluster.engines.values()), volumename,
                            self.cluster.engine)
        engine = entry.engine
        try:
            raw, answer = yield engine_raw(self, engine, "/volumes/" + quote(entry.name, safe=""),
                                           version)
        except EngineError as e:
            if e.status != 404:
                raise
            yield refresh_lists([engine], "volumes")
            raise no_such_volume(volumename) from None
        if not isinstance(answer, dict):
            raise DockerError(502, "engine %s sent no volume for %s" % (engine.name,
                                                                        volumename))
        request.setHeader(b"Content-Type", b"application/json")
        return raw

    @inlineCallbacks
    def volumes_create(self, request, version=None):
        """
        C{POST /volumes/create}: C{<node>/<name>} on that node; a bare name on
        every healthy node its labels allow (all of them without
        C{com.docker.swarm.*} constraint, affinity or whitelist labels, as in
        classic Swarm); no name on the node the scheduler picks.

        201 with the engine's answer: named C{<node>/<name>} when one node
        holds it, under its bare name when made on every node allowed (the
        name the user gave now reaches them all).  A bare name that some of
        those nodes refuse is an error naming the nodes that made it and
        the ones that refused (classic Swarm answered success).
        """
        body = read_json(request, required=False)
        name = body.get("Name") or ""
        if not isinstance(name, str):
            raise bad_request("invalid volume name: expected a string")
        node, bare = split_node(name)
        if node is not None:
            targets = [node_engine(self.cluster, node)]
            body = dict(body, Name=bare)
        elif name:
            targets = sorted(eligible_engines(self.cluster, body.get("Labels")),
                             key=lambda e: e.name)
        else:
            targets = [scheduled_engine(self.cluster, body.get("Labels"))]
        data, headers = json_body(body)
        results = yield self._change_each(targets, "volumes", "POST", "/volumes/create", version,
                                          body=data, headers=headers)
        created = [(engine, value) for engine, ok, value in results if ok]
        failures = [(engine, value) for engine, ok, value in results if not ok]
        if not created:
            if len(failures) == 1:
                raise failures[0][1]
            raise combine_failures(failures)
        if failures:
            error = combine_failures(failures)
            error.message = "volume %s was created on %s but not on %s:\n%s" % (
                name, ", ".join(engine.name for engine, _ in created),
                ", ".join(engine.name for engine, _ in failures), error.message)
            raise error
        engine, answer = created[0]
        if not isinstance(answer, dict):
            raise DockerError(502, "engine %s sent no volume" % (engine.name,))
        if len(targets) > 1:
            return json_answer(request, answer, 201)
        return json_answer(request, VolumeEntry(engine, answer).summary(), 201)

    @inlineCallbacks
    def volume_delete(self, request, name, version=None):
        """
        C{DELETE /volumes/{name}}: C{<node>/<name>} on that node; a bare name
        on every healthy node holding it (404 when none does).  Engine
        errors (409 in use...) pass through with their status.
        """
        query = client_query(request)
        node, bare = split_node(name)
        if node is not None:
            engine = self.cluster.engine(node)
            if engine is None:
                raise no_such_volume(name)
            try:
                yield self._engine_json(engine, "DELETE", "/volumes/" + quote(bare, safe=""),
                                        version, query=query)
            except EngineError as e:
                if e.status == 404:
                    yield refresh_lists([engine], "volumes")
                    raise no_such_volume(name) from None
                raise
            yield refresh_lists([engine], "volumes")
            request.setResponseCode(204)
            return b""
        # Every healthy engine is asked: the engines, not the cache, know
        # best which of them hold it.
        targets = self.cluster.healthy_engines()
        results = yield self._change_each(targets, "volumes", "DELETE",
                                          "/volumes/" + quote(name, safe=""), version,
                                          query=query)
        removed = [engine for engine, ok, _ in results if ok]
        failures = [(engine, value) for engine, ok, value in results
                    if not ok and status_of(value) != 404]
        if failures:
            if len(failures) == 1 and not removed:
                raise failures[0][1]
            raise combine_failures(failures)
        if not removed:
            raise no_such_volume(name)
        request.setResponseCode(204)
        return b""

    @inlineCallbacks
    def volumes_prune(self, request, version=None):
        """
        C{POST /volumes/prune}: on every healthy engine (a C{node} filter
        picks some); the names deleted as C{<node>/<name>}, the space
        reclaimed summed.
        """
        deleted, reclaimed = yield self._prune(request, version, "volumes", "VolumesDeleted")
        return json_answer(request, {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed})
