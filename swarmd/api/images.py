"""
Image routes.

Listing is answered from the engines' cached image lists, merged by image
ID.  Pull, import and load run on every healthy engine at once, their
progress merged into one stream with the node name as each message's
C{id}.  Tag, remove and prune run on every engine concerned, their answers
merged.  Inspect, history, save and push go to the first engine holding the
image; a build goes to the node the scheduler picks.  Every change refreshes
the image lists of the engines involved before the answer ends.
"""

import json
import random
from urllib.parse import parse_qsl, quote, urlencode

from twisted.internet.defer import inlineCallbacks

from swarmd.api._fanout import fan_out, refresh_lists
from swarmd.api._helpers import arg, bool_arg, json_answer
from swarmd.api._images_merge import (
    IMAGE_FILTERS,
    build_env,
    check_image_filters,
    encode,
    error_message,
    failure_error,
    filter_image,
    forwarded_build_args,
    merge_deletes,
    merge_images,
    merge_prunes,
    missing_images,
    node_message,
    parse_build_args,
)
from swarmd.api._images_stream import FanIn, TeeBody
from swarmd.api._routing import EngineRouting, request_body
from swarmd.api.errors import DockerError, bad_request, not_found
from swarmd.api.listfilters import parse_filters
from swarmd.api.proxy import copy_response_head, discard_body, forward_headers, relay_body
from swarmd.engine import EngineError
from swarmd.references import image_matches, repository_matches
from swarmd.versions import version_less

#: Seconds an engine may take to start answering a pull, load, import,
#: build or push (a load's answer only starts once the whole tarball went).
STREAM_TIMEOUT = 3600.0

#: Seconds an engine may take to answer an inspect, a history, a search or
#: a login.
LOOKUP_TIMEOUT = 60.0

#: Classic Swarm's answer when no engine can take a request.
NO_HEALTHY_NODE = "No healthy node available in the cluster"

#: The answer of BuildKit's routes (C{/session}, C{/build/cancel}: see
#: L{swarmd.api.routes}).
NO_BUILDKIT = ("BuildKit is not supported by swarmd; use the legacy builder "
               "(DOCKER_BUILDKIT=0 docker build ...)")


def _node(engine):
    return engine.name or engine.address


def _query(request):
    return request.uri.partition(b"?")[2]


class ImageRoutes(EngineRouting):
    """
    C{/images/...}, C{/build}, C{/auth}.

    @cvar image_random: picks the engine of C{/images/search} and C{/auth}.
    """

    image_random = random.Random()

    # -- helpers -----------------------------------------------------------------------

    def _image_engines(self):
        engines = self.cluster.healthy_engines()
        if not engines:
            raise DockerError(500, NO_HEALTHY_NODE)
        return engines

    def _refresh_images(self, engines):
        """
        Re-read the image lists of C{engines}; failures are only logged.
        """
        return refresh_lists(engines, "images")

    @inlineCallbacks
    def _image_holders(self, references, match=image_matches):
        """
        The healthy engines whose cached images hold every reference; when
        none does, the image lists are refreshed and looked at once more
        (the cache may lag behind a change made around the manager).

        @param references: a C{list} of references.
        @param match: C{(image, reference) -> bool}.
        @return: a L{Deferred} firing with a non-empty C{list} of engines.
        @raise DockerError: 404 naming the one reference no engine holds;
            for several references, classic Swarm's "Unable to find a
            healthy engine containing all images" and what each node lacks
            (L{missing_images}).
        """
        engines = self._image_engines()

        def holding():
            return [e for e in engines
                    if all(any(match(image, r) for image in e.images) for r in references)]

        found = holding()
        if not found:
            yield self._refresh_images(engines)
            found = holding()
        if found:
            return found
        if len(references) > 1:
            raise not_found(missing_images(references, [
                (_node(e), [r for r in references
                            if not any(match(image, r) for image in e.images)])
                for e in engines]))
        raise not_found("No such image: %s" % (references[0],))

    @inlineCallbacks
    def _image_proxy(self, request, engine, path, version, query=None, timeout=STREAM_TIMEOUT):
        """
        Send the client's request to C{engine} at C{path} (with C{query}
        instead of the client's query string, if given) and stream the
        answer back.

        @return: a L{Deferred} firing with the engine's status code.
        """
        target = self._engine_path(engine, version, path, request, query=query)
        response = yield engine.api.request(
            request.method, target, forward_headers(request),
            request_body(request, self.clock), timeout=timeout)
        copy_response_head(request, response)
        if request.method == b"HEAD" or response.code in (204, 304):
            yield discard_body(response)
        else:
            yield relay_body(request, response, self.clock)
        return response.code

    @inlineCallbacks
    def _image_change(self, request, engines, method, path, version):
        """
        The same manager-made change (with the client's query string) on
        every engine of C{engines}, then their image lists re-read.

        @return: a L{Deferred} firing with the decoded answers.
        @raise DockerError: naming each engine that failed (a 404 counts
            as a failure only when no engine succeeded: the image was
            already gone from that engine).
        """
        results = yield self._change_each(engines, "images", method, path, version,
                                          query=_query(request))
        answers, failures = [], []
        for engine, ok, result in results:
            if ok:
                answers.append(result)
            elif isinstance(result, EngineError):
                failures.append((_node(engine), result.status, result.message))
            else:
                failures.append((_node(engine), 500, str(result)))
        if answers:
            failures = [f for f in failures if f[1] != 404]
        if failures:
            raise failure_error(failures)
        return answers

    @inlineCallbacks
    def _image_fan_out(self, request, version, path, with_body):
        """
        The client's request on every healthy engine at once, their
        progress streams merged (see L{FanIn}); a body is read once from
        the spool and fed to every engine (see L{TeeBody}).
        """
        engines = self._image_engines()
        tee = None
        if with_body and request.content is not None:
            content = request.content
            content.seek(0, 2)
            size = content.tell()
            content.seek(0)
            if size:
                tee = TeeBody(content, size, len(engines), self.clock)
        fan = FanIn(request, node_message)
        headers = forward_headers(request)
        for index, engine in enumerate(engines):
            target = self._engine_path(engine, version, path, request)
            body = tee.branches[index] if tee is not None else None
            answer = engine.api.request(
                request.method, target, headers, body, timeout=STREAM_TIMEOUT)
            if tee is not None:
                answer.addErrback(lambda f, i=index: (tee.abandon(i), f)[1])
            fan.add(_node(engine), answer)
        fan.close()
        yield fan.done
        yield self._refresh_images(engines)
        if not fan.started:
            raise failure_error(fan.failures)
        if fan.failures and request.channel is not None:
            request.write(encode(error_message(failure_error(fan.failures).message)))
        return None

    # -- listing -----------------------------------------------------------------------

    @inlineCallbacks
    def images_json(self, request, version=None):
        filters = parse_filters(arg(request, "filters"), IMAGE_FILTERS)
        check_image_filters(filters)
        legacy = arg(request, "filter")
        if legacy and version is not None and version_less(version, "1.41"):
            filters.setdefault("reference", []).append(legacy)
        engines = [e for e in self.cluster.engines.values() if e.id]
        if filters.get("node"):
            wanted = set(filters["node"])
            engines = [e for e in engines if e.name in wanted or e.id in wanted]
        lists = {}
        if bool_arg(request, "all"):
            healthy = [e for e in engines if e.healthy]
            results = yield fan_out(healthy, lambda e: self._engine_json(
                e, "GET", "/images/json", version, query=b"all=1"))
            for engine, ok, result in results:
                if ok and isinstance(result, list):
                    lists[engine.address] = result
                elif not ok:
                    self._log.debug("listing all images of {engine} failed: {error}",
                                    engine=_node(engine), error=str(result))
        for engine in engines:
            lists.setdefault(engine.address, engine.images)
        limits = {}
        for key in ("before", "since"):
            if filters.get(key):
                reference = filters[key][0]
                found = [i for images in lists.values() for i in images
                         if image_matches(i, reference)]
                if not found:
                    found = [i for e in self.cluster.engines.values() for i in e.images
                             if image_matches(i, reference)]
                if not found:
                    raise not_found("No such image: %s" % (reference,))
                limits[key] = found[0].get("Created") or 0
        entries = []
        for engine in engines:
            for image in lists[engine.address]:
                kept = filter_image(image, filters, **limits)
                if kept is not None:
                    entries.append((_node(engine), kept))
        return json_answer(request, merge_images(entries))

    # -- pull, import, load ------------------------------------------------------------

    def images_create(self, request, version=None):
        if arg(request, "fromImage"):
            return self._image_fan_out(request, version, "/images/create", with_body=False)
        source = arg(request, "fromSrc")
        if not source:
            raise bad_request("fromImage or fromSrc is required")
        return self._image_fan_out(request, version, "/images/create",
                                   with_body=source == "-")

    def images_load(self, request, version=None):
        return self._image_fan_out(request, version, "/images/load", with_body=True)

    # -- one engine ----------------------------------------------------------------------

    @inlineCallbacks
    def images_get(self, request, version=None):
        names = [v.decode("utf-8", "replace") for v in request.args.get(b"names", [])]
        if not names:
            raise bad_request("names is required")
        engines = yield self._image_holders(names, repository_matches)
        yield self._image_proxy(request, engines[0], "/images/get", version)
        return None

    @inlineCallbacks
    def proxy_image(self, request, name, version=None):
        action = request.path.rsplit(b"/", 1)[1].decode("ascii", "replace")
        reference, match = name, image_matches
        if action == "get":
            match = repository_matches
        elif action == "push":
            tag = arg(request, "tag")
            reference = "%s:%s" % (name, tag) if tag else name
            match = repository_matches
        engines = yield self._image_holders([reference], match)
        engine = engines[0]
        code = yield self._image_proxy(request, engine, "/images/%s/%s" % (
            quote(name, safe="/:@"), action), version,
            timeout=LOOKUP_TIMEOUT if action in ("json", "history") else STREAM_TIMEOUT)
        if action == "push" and code < 300:
            yield self._refresh_images([engine])
        return None

    # -- every engine holding it -----------------------------------------------------------

    @inlineCallbacks
    def image_tag(self, request, name, version=None):
        engines = yield self._image_holders([name])
        yield self._image_change(request, engines, "POST",
                                 "/images/%s/tag" % (quote(name, safe="/:@"),), version)
        request.setResponseCode(201)
        return b""

    @inlineCallbacks
    def image_delete(self, request, name, version=None):
        engines = yield self._image_holders([name])
        answers = yield self._image_change(request, engines, "DELETE",
                                           "/images/%s" % (quote(name, safe="/:@"),), version)
        return json_answer(request, merge_deletes(answers))

    @inlineCallbacks
    def images_prune(self, request, version=None):
        answers = yield self._image_change(request, self._image_engines(), "POST",
                                           "/images/prune", version)
        return json_answer(request, merge_prunes(answers))

    # -- build -------------------------------------------------------------------------

    @inlineCallbacks
    def build(self, request, version=None):
        from swarmd.scheduler import ContainerConfig, ExpressionError, SchedulerError

        args = parse_build_args(arg(request, "buildargs"))
        try:
            config = ContainerConfig.from_create_body({"Image": "", "Env": build_env(args)})
        except ExpressionError as e:
            raise bad_request(str(e)) from None
        try:
            node = self.cluster.scheduler.select(config, self.cluster.nodes())
        except SchedulerError as e:
            raise DockerError(500, str(e)) from None
        engine = self.cluster.engines.get(node.addr)
        if engine is None:
            raise DockerError(500, "node %s left the cluster" % (node.name,))
        kept = forwarded_build_args(args, config.body.get("Env") or [])
        query = None
        if kept != args:
            pairs = [(k, v) for k, v in parse_qsl(_query(request).decode("utf-8", "replace"),
                                                   keep_blank_values=True)
                     if k != "buildargs"]
            pairs.append(("buildargs", _json_compact(kept)))
            query = urlencode(pairs).encode("ascii")
        self._log.info("building on {engine}", engine=_node(engine))
        code = yield self._image_proxy(request, engine, "/build", version, query=query)
        if code < 300:
            yield self._refresh_images([engine])
        return None

    # -- any engine ----------------------------------------------------------------------

    @inlineCallbacks
    def proxy_random(self, request, version=None):
        engine = self.image_random.choice(self._image_engines())
        path = "/auth" if request.path.endswith(b"/auth") else "/images/search"
        yield self._image_proxy(request, engine, path, version, timeout=LOOKUP_TIMEOUT)
        return None


def _json_compact(value):
    return json.dumps(value, separators=(",", ":"))
