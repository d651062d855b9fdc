"""
The errors of the cluster: refusals the API turns into Docker-style
answers, and creates whose outcome is unknown.
"""

import re

from swarmd.engine import EngineError, EngineUnreachable
from swarmd.errors import StatusError


class ClusterError(StatusError):
    """
    An error the API turns into a Docker-style answer.

    @cvar status: the HTTP status when none is given (subclasses set theirs).
    """

    status = 500

    def __init__(self, message, status=None):
        StatusError.__init__(self, type(self).status if status is None else status, message)


class CreateOutcomeUnknown(EngineUnreachable):
    """
    A create sent to an engine got no answer (it timed out, or the
    connection broke after the request went out): the container may exist
    there.  The manager keeps its name and resources held and reconciles
    once the engine answers again (L{swarmd.cluster.Cluster.reconcile_unknown}).

    @ivar node: the name of the engine's node.
    @ivar name: the requested container name, or L{None}.
    """

    def __init__(self, error, node, name):
        EngineUnreachable.__init__(self, error.address, error.reason, outcome_unknown=True)
        self.node = node
        self.name = name

    def __str__(self):
        held = ('its name "%s" may be held' % (self.name,)) if self.name else "it may exist"
        return ("cannot reach engine %s: %s; the outcome of the create is unknown: the "
                "container may have been created on node %s and %s until %s answers again "
                "(the manager then adopts or removes it)"
                % (self.address, self.reason, self.node, held, self.node))


def is_missing_image(error):
    """
    Whether C{error} is an engine's answer that the image of a create is
    not there.
    """
    message = str(error)
    return isinstance(error, EngineError) and (
        error.status == 404 and "image" in message.lower()
        or "No such image" in message
        or re.search(r"image \S* not found", message) is not None)
