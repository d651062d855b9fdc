"""
The image, build and login routes of
L{swarmd.testing.fakeengine._http.FakeEngineAPI} (a mixin), and their route
table.
"""

import json

from swarmd.testing.fakeengine._errors import bad_request, server_error
from swarmd.testing.fakeengine._filters import Filters
from swarmd.testing.fakeengine._http_util import (
    _answer,
    _arg,
    _body,
    _bool,
    _no_content,
    _progress,
    _read_struct,
    _stream_line,
)

#: The fields of C{POST /auth} (C{types.AuthConfig}).
AUTH_FIELDS = {key: ("string", "string") for key in (
    "username", "password", "auth", "email", "serveraddress", "identitytoken",
    "registrytoken")}


def _args(request, name):
    return [v.decode("utf-8", "replace") for v in request.args.get(name.encode("ascii"), [])]


def _stream(request, messages):
    """
    Answer a whole progress stream at once.
    """
    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"application/json")
    return b"".join(_stream_line(m) for m in messages)


class ImageRoutes:
    """
    Handlers of the image routes the manager proxies or fans out.
    """

    def images_create(self, request):
        source = _arg(request, "fromSrc")
        if source is None:
            return self.images_pull(request)
        if source != "-":
            # The fakes have no network: a URL source is never reached.
            raise server_error('Get "%s": dial tcp: lookup %s: no such host'
                               % (source, source.split("/")[2] if "//" in source else source))
        image = self.engine.import_image(
            _body(request), _arg(request, "repo"), _arg(request, "tag"),
            _args(request, "changes"), _arg(request, "message"))
        return _stream(request, [{"status": image.id}])

    def images_pull(self, request):
        progress = _progress(request)

        d = self.engine.pull(_arg(request, "fromImage"), _arg(request, "tag"), progress)
        return d.addCallback(lambda _: b"")

    def image_tag(self, request, name):
        self.engine.tag_image(name, _arg(request, "repo") or "", _arg(request, "tag"))
        return _no_content(request, 201)

    def image_delete(self, request, name):
        return _answer(request, self.engine.remove_image(
            name, force=_bool(request, "force"), prune=not _bool(request, "noprune")))

    def images_prune(self, request):
        return _answer(request, self.engine.prune_images(Filters.parse(_arg(request, "filters"))))

    def image_history(self, request, name):
        return _answer(request, self.engine.image_history(name))

    def _archive(self, request, names):
        data = self.engine.save_images(names)
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/x-tar")
        return data

    def images_get(self, request):
        return self._archive(request, _args(request, "names"))

    def image_get(self, request, name):
        return self._archive(request, [name])

    def images_load(self, request):
        quiet = _arg(request, "quiet")
        quiet = True if quiet is None else _bool(request, "quiet")
        content = request.content
        if content is not None:
            content.seek(0)
        return _stream(request, self.engine.load_images(content or b"", quiet=quiet))

    def image_push(self, request, name):
        if not request.getHeader(b"X-Registry-Auth"):
            raise bad_request("Bad parameters and missing X-Registry-Auth: EOF")
        return _stream(request, self.engine.push(name, _arg(request, "tag")))

    def images_search(self, request):
        limit = _arg(request, "limit")
        try:
            limit = int(limit) if limit else None
        except ValueError:
            limit = None
        return _answer(request, self.engine.search(_arg(request, "term") or "", limit))

    def auth(self, request):
        body = _read_struct(request, "types.AuthConfig", AUTH_FIELDS, eof=("EOF", 500))
        return _answer(request, self.engine.login(body))

    def build(self, request):
        buildargs = {}
        text = _arg(request, "buildargs")
        if text:
            try:
                buildargs = json.loads(text)
            except ValueError:
                raise bad_request("invalid character in buildargs") from None
        rm = _arg(request, "rm")
        progress = _progress(request)

        d = self.engine.build(
            _body(request), tags=_args(request, "t"), dockerfile=_arg(request, "dockerfile"),
            buildargs=buildargs if isinstance(buildargs, dict) else {},
            quiet=_bool(request, "q"), rm=True if rm is None else _bool(request, "rm"),
            forcerm=_bool(request, "forcerm"), nocache=_bool(request, "nocache"),
            progress=progress)
        return d.addCallback(lambda _: b"")


#: The routes: method, path (also served under C{/vX.Y}), handler.
IMAGE_ROUTES = (
    ("POST", "/images/create", "images_create"),
    ("POST", "/images/load", "images_load"),
    ("POST", "/images/prune", "images_prune"),
    ("GET", "/images/get", "images_get"),
    ("GET", "/images/search", "images_search"),
    ("GET", "/images/<path:name>/get", "image_get"),
    ("GET", "/images/<path:name>/history", "image_history"),
    ("POST", "/images/<path:name>/tag", "image_tag"),
    ("POST", "/images/<path:name>/push", "image_push"),
    ("DELETE", "/images/<path:name>", "image_delete"),
    ("POST", "/auth", "auth"),
    ("POST", "/build", "build"),
)

__all__ = ["IMAGE_ROUTES", "ImageRoutes"]

