"""
Errors of engine calls.
"""

import json

from swarmd.errors import StatusError


class EngineError(StatusError):
    """
    The engine answered with an error status.

    @ivar status: the HTTP status code.
    @ivar message: the engine's message (from its JSON body, or the raw text).
    """

    @classmethod
    def from_body(cls, status, body):
        """
        Build the error from an error response body.

        @param status: the HTTP status code.
        @param body: the raw C{bytes} of the body.
        """
        text = body.decode("utf-8", "replace").strip()
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
            text = decoded["message"]
        return cls(status, text or "engine returned status %d" % (status,))


class EngineUnreachable(Exception):
    """
    The engine could not be reached, the connection broke, or it did not
    answer in time.

    @ivar outcome_unknown: whether the request may have reached the engine
        (it timed out, or the connection broke after it was sent): what it
        asked for may have been done.
    """

    def __init__(self, address, reason, outcome_unknown=False):
        Exception.__init__(self, address, reason)
        self.address = address
        self.reason = reason
        self.outcome_unknown = outcome_unknown

    def __str__(self):
        return "cannot reach engine %s: %s" % (self.address, self.reason)
