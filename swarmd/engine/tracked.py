"""
An engine client whose every call counts toward its engine's health.

Callers that act on an engine for a Docker client (start, remove, proxy a
request...) use L{TrackedClient} rather than wrapping each call in the
engine's C{track} by hand.
"""

from twisted.python.components import proxyForInterface
from zope.interface.interface import Method

from swarmd.engine._interfaces import IEngineClient

#: Calls passed through untouched: C{events} opens a long-lived stream
#: whose breaks the events follower counts itself, C{close} drops idle
#: connections and says nothing about the engine.
UNTRACKED = frozenset(["events", "close"])


def _tracked_call(name):
    def call(self, *args, **kwargs):
        return self._track(getattr(self.original, name)(*args, **kwargs))

    call.__name__ = name
    call.__doc__ = "L{IEngineClient.%s}, its outcome passed to the engine's C{track}." % (name,)
    return call


class TrackedClient(proxyForInterface(IEngineClient)):  # type: ignore[misc]  # a generated base
    """
    L{IEngineClient} over another one, applying C{track} to the L{Deferred}
    of every call except L{UNTRACKED}.  Attributes (C{address},
    C{api_version}, C{endpoint}) read through to the wrapped client.

    @ivar original: the wrapped client.
    """

    def __init__(self, original, track):
        """
        @param original: the L{IEngineClient} to call.
        @param track: a callable taking the L{Deferred} of a call and
            returning it with the outcome counted (L{Engine.track}).
        """
        super().__init__(original)
        self._track = track


for _name, _description in IEngineClient.namesAndDescriptions(all=True):
    if isinstance(_description, Method) and _name not in UNTRACKED:
        setattr(TrackedClient, _name, _tracked_call(_name))
