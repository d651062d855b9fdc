"""
The errors of the fake engine: what dockerd would answer, status and message.
"""


class FakeAPIError(Exception):
    """
    The fake engine refuses a call as dockerd would: served as
    C{{"message": message}} with C{status}.

    @ivar status: the HTTP status.
    @ivar message: dockerd's message.
    @ivar content_type: the C{Content-Type} of the answer (dockerd sends a
        few errors as plain text).
    """

    def __init__(self, status, message, content_type="application/json"):
        Exception.__init__(self, status, message)
        self.status = status
        self.message = message
        self.content_type = content_type

    def __str__(self):
        return "%d %s" % (self.status, self.message)


def bad_request(message):
    """
    @return: a 400 L{FakeAPIError}.
    """
    return FakeAPIError(400, message)


def not_found(message):
    """
    @return: a 404 L{FakeAPIError}.
    """
    return FakeAPIError(404, message)


def conflict(message):
    """
    @return: a 409 L{FakeAPIError}.
    """
    return FakeAPIError(409, message)


def server_error(message):
    """
    @return: a 500 L{FakeAPIError}.
    """
    return FakeAPIError(500, message)


def no_such_container(ref):
    """
    @return: dockerd's 404 for an unknown container reference.
    """
    return not_found("No such container: %s" % (ref,))


def forbidden(message):
    """
    @return: a 403 L{FakeAPIError}.
    """
    return FakeAPIError(403, message)
