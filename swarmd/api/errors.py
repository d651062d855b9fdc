"""
Docker-style API errors: C{{"message": "..."}} with the right status.
"""

import json

from swarmd.errors import StatusError


class DockerError(StatusError):
    """
    An error the manager answers itself.

    @ivar status: the HTTP status code.
    @ivar message: the text of the C{message} field.
    """


def not_found(message):
    return DockerError(404, message)


def bad_request(message):
    return DockerError(400, message)


def conflict(message):
    return DockerError(409, message)


def server_error(message):
    return DockerError(500, message)


def error_body(message, incident=None):
    """
    @param incident: an incident ID (see L{swarmd.api.app.new_incident})
        the log names too, added as C{"incident"} if given.
    @return: the C{bytes} of a Docker error body.
    """
    body = {"message": message}
    if incident is not None:
        body["incident"] = incident
    return json.dumps(body).encode("utf-8") + b"\n"


def write_error(request, status, message, incident=None):
    """
    Answer C{request} with a Docker error, unless the answer already began.

    @param incident: as L{error_body}.

    @return: the body to return from a Klein handler (C{b""} when nothing more
        can be written).
    """
    if getattr(request, "startedWriting", False):
        return b""
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    request.responseHeaders.removeHeader(b"Content-Length")
    return error_body(message, incident)
