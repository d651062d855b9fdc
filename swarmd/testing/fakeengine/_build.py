"""
L{BuildOps}: C{POST /build} on a L{FakeEngine}, as dockerd 20.10's legacy
builder answers it (checked against a lab engine): a tar context in, a
JSON stream out, an image made.

Enough for small Dockerfiles: C{FROM} (a local image, or one pulled from
the engine's registry), C{RUN} (an intermediate container runs the
command with the fake's process model; what it writes with C{> /path}
becomes the step's layer), C{ARG} and the config instructions (C{CMD},
C{ENV}, C{LABEL}, ...).  Steps are cached as dockerd caches them: the same
instruction on the same parent reuses the image.  C{COPY} and C{ADD} are
not modelled (the build fails saying so).
"""

import copy
import io
import json
import tarfile

from twisted.internet.defer import inlineCallbacks

from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request, server_error
from swarmd.testing.fakeengine._image_ops import CHANGE_INSTRUCTIONS, _json_words, apply_change
from swarmd.testing.fakeengine._images import FakeImage, history_entry
from swarmd.testing.fakeengine._layers import add_layer, tar_of
from swarmd.testing.fakeengine._references import familiar
from swarmd.testing.fakeengine._time import NANO

#: The C{PATH} a build stage gets when its base image sets none.
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Every instruction a Dockerfile may hold.
INSTRUCTIONS = CHANGE_INSTRUCTIONS | {"FROM", "RUN", "ARG", "COPY", "ADD", "MAINTAINER",
                                      "HEALTHCHECK", "SHELL"}

#: Build arguments dockerd never warns about.
_PREDEFINED_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                              "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                              "all_proxy"})


def parse_dockerfile(text):
    """
    @return: C{[(keyword, arguments, as written)]} (continuation lines
        joined, comments dropped).
    @raise FakeAPIError: 400 for an unknown instruction, as dockerd.
    """
    steps = []
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        if keyword.upper() not in INSTRUCTIONS:
            raise bad_request("dockerfile parse error line %d: unknown instruction: %s"
                              % (start, keyword.upper()))
        steps.append((keyword.upper(), rest.strip(), keyword.upper() + " " + rest.strip()))
    return steps


def _context_files(context):
    """
    @return: C{{path: bytes}} of the regular files of a build context.
    @raise FakeAPIError: 500 C{unexpected EOF} for a body that is no tar.
    """
    if not context:
        return {}
    try:
        with tarfile.open(fileobj=io.BytesIO(context), mode="r:*") as archive:
            return {m.name.lstrip("./"): archive.extractfile(m).read()
                    for m in archive.getmembers() if m.isreg()}
    except (tarfile.TarError, EOFError, OSError):
        raise server_error("unexpected EOF") from None


def _nop_text(keyword, rest, written):
    """
    How dockerd writes a config step in its history: the JSON form of
    C{CMD} and C{ENTRYPOINT} as Go prints a list (C{["echo" "hi"]}).
    """
    if keyword in ("CMD", "ENTRYPOINT"):
        words, is_json = _json_words(rest)
        if is_json:
            return "%s [%s]" % (keyword, " ".join(json.dumps(w) for w in words))
    return written


class BuildOps:
    """
    C{POST /build} for L{swarmd.testing.fakeengine._engine.FakeEngine} (a mixin:
    it uses the engine's image and container operations).
    """

    def build(self, context, tags=(), dockerfile="Dockerfile", buildargs=None, quiet=False,
              rm=True, forcerm=False, nocache=False, progress=None):
        """
        Build an image.

        @param context: the tar of the build context.
        @param tags: the C{t} references to tag the image with.
        @param buildargs: C{{name: value}}.
        @param progress: called with each message of the stream.
        @return: a L{Deferred} firing with the messages once the build
            ended (a failed step ends the stream with an error message).
        @raise FakeAPIError: what dockerd answers before streaming (500 a
            bad tag, no context or no Dockerfile; 400 a parse error).
        """
        shown_tags = []
        for tag in tags:
            try:
                shown_tags.append(familiar(tag))
            except FakeAPIError as e:
                raise server_error(e.message) from None
        files = _context_files(context)
        name = dockerfile or "Dockerfile"
        text = files.get(name.lstrip("./"))
        if text is None:
            raise server_error("Cannot locate specified Dockerfile: %s" % (name,))
        steps = parse_dockerfile(text.decode("utf-8", "replace"))
        if not steps or steps[0][0] != "FROM":
            raise server_error("no build stage in current context")
        return self._build_steps(steps, shown_tags, dict(buildargs or {}), quiet, rm, forcerm,
                                 nocache, progress)

    @inlineCallbacks
    def _build_steps(self, steps, tags, buildargs, quiet, rm, forcerm, nocache, progress):
        messages = []

        def say(message, always=False):
            if quiet and not always:
                return
            messages.append(message)
            if progress is not None:
                progress(message)

        def stream(text):
            say({"stream": text})

        def fail(text, code=None):
            detail = {"message": text}
            if code is not None:
                detail = {"code": code, "message": text}
            say({"errorDetail": detail, "error": text}, always=True)
            return messages

        current = None
        config = None
        declared = set()
        for index, (keyword, rest, written) in enumerate(steps, 1):
            stream("Step %d/%d : %s" % (index, len(steps), written))
            stream("\n")
            if keyword == "FROM":
                reference = rest.split()[0] if rest else ""
                current = self.find_image(reference)
                if current is None:
                    try:
                        pulled = yield self.pull(reference, None, say)
                    except FakeAPIError as e:
                        return fail(e.message)
                    if any("error" in m for m in pulled):
                        return messages
                    current = self.find_image(reference)
                config = copy.deepcopy(current.config)
                if not any(e.startswith("PATH=") for e in config.get("Env") or []):
                    config["Env"] = list(config.get("Env") or []) + [DEFAULT_PATH]
                stream(" ---> %s\n" % (current.id[7:19],))
                continue
            if keyword in ("COPY", "ADD"):
                return fail("%s is not supported by the fake engine" % (keyword,))
            if keyword == "ARG":
                declared.add(rest.split("=", 1)[0].strip())
            if keyword == "RUN":
                words, _ = _json_words(rest)
                created_by = " ".join(words)
                run_config = dict(config, Cmd=words, Image=current.id)
                cached = None if nocache else self._cached_step(current, created_by)
                if cached is not None:
                    stream(" ---> Using cache\n")
                else:
                    cached = yield self._run_step(current, config, run_config, created_by, rm,
                                                  forcerm, stream, fail)
                    if cached is None:
                        return messages
                current = cached
                config = copy.deepcopy(current.config)
                stream(" ---> %s\n" % (current.id[7:19],))
                continue
            shown = _nop_text(keyword, rest, written)
            created_by = "/bin/sh -c #(nop)  %s" % (shown,)
            cached = None if nocache else self._cached_step(current, created_by)
            if cached is None:
                if keyword not in ("ARG", "MAINTAINER", "HEALTHCHECK", "SHELL"):
                    try:
                        apply_change(config, written)
                    except FakeAPIError as e:
                        return fail(e.message)
                container_id = self._hex()
                stream(" ---> Running in %s\n" % (container_id[:12],))
                cached = self._commit_step(current, dict(config, Image=current.id),
                                           dict(config, Image=current.id,
                                                Cmd=["/bin/sh", "-c", "#(nop) ", shown]),
                                           created_by, container_id, None)
                stream("Removing intermediate container %s\n" % (container_id[:12],))
            else:
                stream(" ---> Using cache\n")
            current = cached
            config = copy.deepcopy(current.config)
            stream(" ---> %s\n" % (current.id[7:19],))
        say({"aux": {"ID": current.id}})
        unused = sorted(set(buildargs) - declared - _PREDEFINED_ARGS)
        if unused:
            stream("[Warning] One or more build-args [%s] were not consumed\n"
                   % (" ".join(unused),))
        stream("Successfully built %s\n" % (current.id[7:19],))
        for tag in tags:
            self._tag(current, tag, tag)
            stream("Successfully tagged %s\n" % (tag,))
        if quiet:
            say({"stream": current.id + "\n"}, always=True)
        return messages

    def _cached_step(self, parent, created_by):
        for image in self.images.values():
            if image.parent == parent.id:
                history = image.history_entries()
                if history and history[-1].get("created_by") == created_by:
                    return image
        return None

    @inlineCallbacks
    def _run_step(self, parent, config, run_config, created_by, rm, forcerm, stream, fail):
        """
        Run a C{RUN} step in an intermediate container, then commit it.

        @return: a L{Deferred} firing with the new L{FakeImage}, or L{None}
            if the step failed (its error said).
        """
        container_id, _ = self.create(dict(run_config))
        container = self.containers[container_id]
        self._container_event(container, "attach")
        stream(" ---> Running in %s\n" % (container_id[:12],))
        try:
            self.start(container_id)
        except FakeAPIError as e:
            fail(e.message)
            return None
        result = yield self.wait(container_id)
        for _, _, line in container.logs:
            stream(line.decode("utf-8", "replace"))
        code = result["StatusCode"]
        if code != 0:
            if forcerm:
                self.remove(container_id, force=True)
            fail("The command '%s' returned a non-zero code: %d" % (created_by, code), code)
            return None
        image = self._commit_step(parent, dict(config, Image=parent.id), run_config, created_by,
                                  container_id, container.files or {})
        if rm or forcerm:
            self.remove(container_id, force=True)
            stream("Removing intermediate container %s\n" % (container_id[:12],))
        return image

    def _commit_step(self, parent, config, container_config, created_by, container_id, files):
        """
        The image of one build step on C{parent}.

        @param files: C{{path: bytes}} its layer holds, or L{None} for a
            step that changes only the config (no layer).
        """
        now = self._now_ns()
        history = list(parent.history_entries())
        layers = list(parent.layers)
        if files is None:
            history.append(history_entry(now, created_by=created_by, empty_layer=True))
        else:
            layer = add_layer(tar_of({p.lstrip("/"): data for p, data in sorted(files.items())},
                                     mtime=now // NANO))
            layers.append(layer.diff_id)
            history.append(history_entry(now, created_by=created_by))
        image = FakeImage(None, created_ns=now, config=config, parent=parent.id, layers=layers,
                          history=history, container=container_id,
                          container_config=container_config)
        return self.add_image(image)


__all__ = ["BuildOps", "DEFAULT_PATH", "parse_dockerfile"]

