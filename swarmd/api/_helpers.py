"""
Small helpers every route module uses: query arguments, JSON bodies and
answers.
"""

import json

from swarmd.api.errors import DockerError, bad_request

#: Largest JSON request body the manager reads (create, exec, ...).
MAX_JSON_BODY = 4 * 1024 * 1024


def json_answer(request, value, status=200):
    """
    Answer with a JSON document, as dockerd does (one line, then a newline).
    """
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"


def arg(request, name, default=None):
    values = request.args.get(name.encode("ascii"))
    if not values:
        return default
    return values[-1].decode("utf-8", "replace")


def bool_arg(request, name):
    """
    Docker's boolean query values: absent, C{""}, C{0}, C{no}, C{false},
    C{none} are false.
    """
    value = arg(request, name)
    return value is not None and value.strip().lower() not in ("", "0", "no", "false", "none")


def int_arg(request, name, default=0):
    value = arg(request, name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request("invalid value for %s: %r" % (name, value)) from None


def read_json(request, limit=MAX_JSON_BODY, required=True):
    """
    Decode the request's JSON body.

    @raise DockerError: 400 for malformed JSON or a non-object, 413 for a body
        over C{limit}.
    """
    content = request.content
    if content is None:
        data = b""
    else:
        content.seek(0)
        data = content.read(limit + 1)
    if len(data) > limit:
        raise DockerError(413, "request body larger than %d bytes" % (limit,))
    if not data.strip():
        if required:
            raise bad_request("request body is empty; a JSON object is required")
        return {}
    try:
        value = json.loads(data)
    except ValueError as e:
        raise bad_request("invalid JSON in request body: %s" % (e,)) from None
    if not isinstance(value, dict):
        raise bad_request("invalid JSON in request body: expected an object")
    return value
