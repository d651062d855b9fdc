"""
An in-memory Docker engine that serves the remote API the manager uses,
honest enough to pass the same conformance suite as a real dockerd
(L{swarmd.testing.conformance.engine}), light enough that a process can run
a thousand of them (the simulator of the scale benchmark).

    from twisted.internet import reactor
    from swarmd.testing.fakeengine import FakeEngine, FakeRegistry, serve

    registry = FakeRegistry(["busybox:latest", "127.0.0.1:5000/app:1"])
    engine = FakeEngine(reactor, name="n1", labels=["storage=ssd"], registry=registry)
    port = yield serve(engine, "127.0.0.1:0", reactor)   # or "unix:///tmp/x/docker.sock"
    client = EngineClient(port.address, reactor)

Unit tests can skip the sockets: C{FakeEngineAPI(engine).resource()} is an
C{IResource} for C{treq.testing.StubTreq}, and the engine itself has a
Python API (C{engine.create(...)}, C{engine.start(...)}) to set up state.

Attach, attach/ws and a non-detached exec start take the connection over
as dockerd does (a raw C{101 UPGRADED} head, then the stream; the engine
ends it by closing its writing side): they need a fake served on a socket.
Through C{StubTreq} only what is answered before the take-over (refusals,
detached starts) can be seen.  A container's files (its image's layers and
what it wrote) are kept for the archive, copy, export, changes and commit
routes; C{cat} with an open stdin prints back what an attached client sends.

Faults for other people's tests::

    engine.unreachable = True        # refuse connections, drop open ones
    engine.fail(500, "boom", count=2)  # the next 2 calls answer 500 {"message": "boom"}
    engine.latency = 0.5              # every answer comes 0.5 s later (engine's clock)

What a container runs is modelled on the lab's busybox image
(L{swarmd.testing.fakeengine._proc}): C{echo ...} prints and exits 0, C{sh -c
"exit 3"} exits 3, C{true}/C{false}, C{sleep N} ends after N seconds,
others (C{top}, C{sh -i}) run until stopped; PID 1 ignores SIGTERM, so a
stop waits its timeout and ends with 137 (143 with C{Init}), as dockerd
reports for the lab's image.
"""

from swarmd.testing.fakeengine._container import FakeContainer
from swarmd.testing.fakeengine._engine import FakeEngine
from swarmd.testing.fakeengine._errors import FakeAPIError
from swarmd.testing.fakeengine._events import EVENTS_KEPT, Event, EventLog
from swarmd.testing.fakeengine._exec import FakeExec
from swarmd.testing.fakeengine._filters import Filters
from swarmd.testing.fakeengine._http import (
    FakeEngineAPI,
    FakeEnginePort,
    bound_address,
    frame,
    serve,
)
from swarmd.testing.fakeengine._images import BUSYBOX_ID, FakeImage
from swarmd.testing.fakeengine._registry import FakeRegistry
from swarmd.testing.fakeengine._system import SERVER_VERSION

__all__ = [
    "BUSYBOX_ID",
    "EVENTS_KEPT",
    "Event",
    "EventLog",
    "SERVER_VERSION",
    "FakeAPIError",
    "FakeContainer",
    "FakeEngine",
    "FakeEngineAPI",
    "FakeEnginePort",
    "FakeExec",
    "FakeImage",
    "FakeRegistry",
    "Filters",
    "bound_address",
    "frame",
    "serve",
]
