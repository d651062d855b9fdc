"""
Calls made on several engines at once for one client request (prunes,
pulls, volume creation and removal on every node...), and how their
outcomes become one answer.
"""

import json
from urllib.parse import urlencode

from twisted.internet.defer import DeferredList, inlineCallbacks, maybeDeferred
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.api._scoped_view import node_name
from swarmd.api.errors import DockerError, bad_request
from swarmd.api.listfilters import load_filters_json, regex_match
from swarmd.engine import EngineError, EngineUnreachable

_log = Logger(observer=observer, namespace="swarmd.api.fanout")

#: Failures a fan-out collects per engine; anything else is a bug and fails
#: the request.
ENGINE_FAILURES = (EngineError, EngineUnreachable, DockerError)


@inlineCallbacks
def fan_out(engines, call):
    """
    Call C{call(engine)} for every engine at once.

    @param call: returns a L{Deferred} (or a value) for one engine.
    @return: a L{Deferred} firing with a C{list} of C{(engine, ok, value)}
        in the order of C{engines}: C{value} is the result when C{ok}, the
        exception (L{EngineError}, L{EngineUnreachable} or L{DockerError})
        otherwise.  Any other exception fails it.
    """
    engines = list(engines)
    results = yield DeferredList([maybeDeferred(call, engine) for engine in engines],
                                 consumeErrors=True)
    outcome = []
    for engine, (ok, value) in zip(engines, results, strict=True):
        if not ok:
            if not value.check(*ENGINE_FAILURES):
                value.raiseException()
            value = value.value
        outcome.append((engine, ok, value))
    return outcome


def client_query(request):
    """
    @return: the C{bytes} query string of the client's request.
    """
    return request.uri.partition(b"?")[2]


def status_of(error):
    """
    The HTTP status an engine failure stands for (500 when unreachable).
    """
    return getattr(error, "status", 500)


def combine_failures(failures):
    """
    One error for the engines that failed a fanned-out call.

    @param failures: a non-empty C{list} of C{(engine, exception)}.
    @return: a L{DockerError}: the status the failures share (else 500),
        each engine's message after its node name, one per line.
    """
    statuses = {status_of(error) for _, error in failures}
    status = statuses.pop() if len(statuses) == 1 else 500
    message = "\n".join("%s: %s" % (engine.name, error) for engine, error in failures)
    return DockerError(status, message)


def pruned(results, deleted_key):
    """
    What a prune fanned out to engines did, as one answer.

    @param results: what L{fan_out} fired with for the engines' prune.
    @param deleted_key: the answers' list of names deleted
        (C{"NetworksDeleted"}, C{"VolumesDeleted"}).
    @return: C{(deleted, reclaimed)}: every name deleted, as
        C{<node>/<name>}, and the C{SpaceReclaimed} the engines answered,
        summed.
    @raise DockerError: when some engines failed (L{combine_failures}),
        naming what the others deleted.
    """
    deleted: list[str] = []
    reclaimed = 0
    failures = []
    for engine, ok, value in results:
        if not ok:
            failures.append((engine, value))
            continue
        value = value or {}
        deleted.extend(node_name(engine, name) for name in value.get(deleted_key) or [])
        if "SpaceReclaimed" in value:
            reclaimed += int(value.get("SpaceReclaimed") or 0)
    if failures:
        error = combine_failures(failures)
        if deleted:
            error.message += "\n(deleted: %s)" % (", ".join(deleted),)
        raise error
    return deleted, reclaimed


def _filter_values(value):
    if isinstance(value, dict):
        return [k for k, v in value.items() if v]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def prune_targets(engines, filters_text):
    """
    Which engines a prune goes to, and the C{filters} they get.

    A C{node} filter (names or IDs, unanchored regular expressions, as in
    the lists) picks engines and is removed; the other filters go to every
    engine untouched, for it to check and apply.

    @param engines: the healthy engines.
    @param filters_text: the client's C{filters} value, or L{None}.
    @return: C{(engines, query)}: the chosen engines and the C{bytes} query
        string to send them.
    @raise DockerError: 400 when C{filters} is not a JSON object.
    """
    if not filters_text:
        return list(engines), b""
    filters = load_filters_json(filters_text)
    if filters is None:
        return list(engines), b""
    if not isinstance(filters, dict):
        raise bad_request("invalid filter: expected an object")
    nodes = filters.pop("node", None)
    chosen = list(engines)
    if nodes is not None:
        wanted = _filter_values(nodes)
        chosen = [e for e in chosen
                  if regex_match(wanted, e.name, "node") or regex_match(wanted, e.id, "node")]
    if not filters:
        return chosen, b""
    return chosen, urlencode({"filters": json.dumps(filters)}).encode("ascii")


@inlineCallbacks
def refresh_lists(engines, kind):
    """
    Re-read one cached list (C{"networks"}, C{"volumes"}) of each engine,
    so that the next list request sees a change just made.  Failures are
    logged, never raised: the change itself succeeded.

    @return: a L{Deferred} firing with L{None} once all are done.
    """
    engines = list(engines)
    results = yield DeferredList([e.refresh_list(kind) for e in engines], consumeErrors=True)
    for engine, (ok, value) in zip(engines, results, strict=True):
        if not ok:
            _log.debug("refreshing the {kind} of {engine} failed: {error}", kind=kind,
                       engine=engine.name, error=value.getErrorMessage())
