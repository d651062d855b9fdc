"""
Helpers of the fake engine's HTTP front: query arguments, answers, errors
and request bodies as dockerd 20.10 reads and writes them.
"""

import json

from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request, server_error

_FALSE = ("", "0", "no", "false", "none")

#: Request bodies larger than this are refused.
MAX_BODY = 4 * 1024 * 1024


def _arg(request, name, default=None):
    values = request.args.get(name.encode("ascii"))
    if not values:
        return default
    return values[-1].decode("utf-8", "replace")


def _bool(request, name):
    value = _arg(request, name)
    return value is not None and value.strip().lower() not in _FALSE


def _int(request, name, default=None):
    value = _arg(request, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request('strconv.Atoi: parsing "%s": invalid syntax' % (value,)) from None


def _json_line(value):
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"


def _answer(request, value, status=200):
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return _json_line(value)


def _no_content(request, status=204):
    request.setResponseCode(status)
    request.defaultContentType = None
    return b""


def _error(request, status, message, content_type="application/json"):
    request.setResponseCode(status)
    if content_type == "application/json":
        request.setHeader(b"Content-Type", b"application/json")
        return _json_line({"message": message})
    request.setHeader(b"Content-Type", content_type.encode("ascii"))
    request.setHeader(b"X-Content-Type-Options", b"nosniff")
    return message.encode("utf-8") + b"\n"


def _read_json(request):
    """
    Decode a JSON request body as dockerd does for create.

    @return: the decoded value (C{{}} for an empty body).
    """
    content = request.content
    data = b""
    if content is not None:
        content.seek(0)
        data = content.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise FakeAPIError(413, "request body too large")
    if not data.strip():
        return {}
    kind = (request.getHeader(b"Content-Type") or b"").decode("latin-1")
    if kind.split(";")[0].strip() != "application/json":
        raise bad_request("Content-Type specified (%s) must be 'application/json'" % (kind,))
    try:
        value = json.loads(data)
    except ValueError:
        text = data.decode("utf-8", "replace").lstrip()
        raise server_error("invalid character '%s' looking for beginning of value"
                           % (text[:1],)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("invalid JSON: expected an object")
    return value


def _stream_line(value):
    """
    One message of a progress stream (pull, push, load, import, build):
    compact JSON ended by CRLF, as dockerd writes them.
    """
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\r\n"


def _progress(request):
    """
    A progress callback (pull, build) writing each message to C{request}:
    the answer's head goes with the first one, so an error before it can
    still be an error status.
    """
    started = []

    def progress(message):
        if not started:
            started.append(True)
            request.setResponseCode(200)
            request.setHeader(b"Content-Type", b"application/json")
        request.write(_stream_line(message))

    return progress


def _body(request, limit=None):
    """
    @return: the whole request body (C{bytes}).
    """
    content = request.content
    if content is None:
        return b""
    content.seek(0)
    return content.read() if limit is None else content.read(limit)


_JSON_KINDS = ((bool, "bool"), (str, "string"), ((int, float), "number"), (list, "array"),
               (dict, "object"))


def _kind(value):
    for types, name in _JSON_KINDS:
        if isinstance(value, types):
            return name
    return "null"


def _read_struct(request, struct, fields, eof=("got EOF while reading request body", 400)):
    """
    Decode a JSON body as dockerd's handlers decode one into a Go struct.

    @param struct: the Go type's name (for messages).
    @param fields: C{{field: (JSON kind, Go type)}}: a value of another
        kind is refused as Go's decoder refuses it (C{null} is accepted).
    @param eof: C{(message, status)} for an empty body.
    @return: the decoded C{dict}.
    @raise FakeAPIError: 400 (or C{eof}'s status) with dockerd's message.
    """
    data = _body(request, MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise FakeAPIError(413, "request body too large")
    kind = (request.getHeader(b"Content-Type") or b"").decode("latin-1")
    if data and kind.split(";")[0].strip() != "application/json":
        raise bad_request("Content-Type specified (%s) must be 'application/json'" % (kind,))
    if not data.strip():
        raise FakeAPIError(eof[1], eof[0])
    try:
        value = json.loads(data)
    except ValueError:
        text = data.decode("utf-8", "replace").lstrip()
        raise bad_request("invalid character '%s' looking for beginning of value"
                          % (text[:1],)) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("json: cannot unmarshal %s into Go value of type %s"
                          % (_kind(value), struct))
    for field, (wanted, go_type) in fields.items():
        if field in value and value[field] is not None and _kind(value[field]) != wanted:
            raise bad_request("json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                              % (_kind(value[field]), struct, field, go_type))
    return value
