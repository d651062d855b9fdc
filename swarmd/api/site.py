"""
The HTTP site serving L{swarmd.api.app.DockerAPI}: Docker's default
headers on every answer, optional CORS, no per-request access log.
"""

from twisted.web.server import Request, Site

from swarmd import API_VERSION, __version__

_HEADERS = (
    (b"Api-Version", API_VERSION.encode("ascii")),
    (b"Docker-Experimental", b"false"),
    (b"Ostype", b"linux"),
    (b"Server", ("swarmd/%s (linux)" % (__version__,)).encode("ascii")),
)

_CORS = (
    (b"Access-Control-Allow-Origin", b"*"),
    (b"Access-Control-Allow-Headers",
     b"Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth"),
    (b"Access-Control-Allow-Methods", b"HEAD, GET, POST, DELETE, PUT, OPTIONS"),
)


class DockerRequest(Request):
    """
    A request whose answer carries Docker's headers.
    """

    def render(self, resource):
        # Called by process() once it set Twisted's own Server header.
        for name, value in _HEADERS:
            self.setHeader(name, value)
        if getattr(self.site, "cors", False):
            for name, value in _CORS:
                self.setHeader(name, value)
            if self.method == b"OPTIONS":
                self.setResponseCode(200)
                self.finish()
                return
        super().render(resource)


class DockerSite(Site):
    """
    A site for the Docker API.

    @ivar cors: answer with CORS headers and accept C{OPTIONS} everywhere.
    """

    requestFactory = DockerRequest
    displayTracebacks = False
    noisy = False

    def __init__(self, resource, cors=False, **kwargs):
        Site.__init__(self, resource, **kwargs)
        self.cors = cors

    def log(self, request):
        """
        No access log: the manager logs what matters itself.
        """
