"""
The one shape of every error the manager can answer as Docker does: an
HTTP status and the text of C{{"message": "..."}}.

L{swarmd.api.errors.DockerError} (what the API refuses itself),
L{swarmd.engine.EngineError} (what an engine answered) and
L{swarmd.cluster.ClusterError} (what the cluster refuses) all are
L{StatusError}s, so the API answers any of them with its own status and
message.
"""

__all__ = ["StatusError"]


class StatusError(Exception):
    """
    An error with an HTTP status and a Docker-style message.

    @ivar status: the HTTP status code.
    @ivar message: the text of the C{message} field.
    """

    def __init__(self, status, message):
        Exception.__init__(self, status, message)
        self.status = status
        self.message = message

    def __str__(self):
        return self.message
