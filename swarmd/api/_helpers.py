"""
Small helpers every route module uses: query arguments, JSON bodies and
answers.
"""

import itertools
import json
import re

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


#: How deeply a JSON body may nest: deeper ones are refused before the
#: manager copies or re-encodes them (recursive work: Python's stack would
#: end first).  Go's own limit is 10,000; no create or exec body comes near.
MAX_JSON_DEPTH = 256

#: A UTF-8 byte-order mark: Go's decoder refuses it, and so does the manager.
_BOM = b"\xef\xbb\xbf"

#: Every JSON string, to be left out when counting brackets.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)

#: Every byte but brackets, deleted when counting brackets.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data, limit=MAX_JSON_DEPTH):
    """
    How deeply a valid JSON document nests, counted without recursion.

    @param data: the C{bytes} of a document that decodes.
    @param limit: a bound: documents with fewer bracket pairs are not
        counted (they cannot nest deeper), and 0 is returned for them.
    @return: the depth, or 0 when it is at most C{limit}.
    """
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * limit:
        return 0
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)))


def _refuse_constant(name):
    # Python reads NaN and Infinity; Go (and JSON) does not.
    raise ValueError("invalid character %r looking for beginning of value" % (name[0],))


def read_json_value(request, limit=MAX_JSON_BODY):
    """
    Decode the request's JSON body as dockerd's Go decoder does: the first
    JSON value, what follows it ignored; bytes that are not UTF-8 kept as
    U+FFFD; a byte-order mark, C{NaN} or C{Infinity} refused.

    @return: the decoded value, or L{None} for an empty body.
    @raise DockerError: 400 for malformed JSON or nesting deeper than
        L{MAX_JSON_DEPTH}, 413 for a body over C{limit}.
    """
    content = request.content
    if content is None:
        data = b""
    else:
        content.seek(0)
        data = content.read(limit + 1)
    if len(data) > limit:
        raise DockerError(413, "request body larger than %d bytes" % (limit,))
    if data.startswith(_BOM):
        raise bad_request("invalid JSON in request body: invalid character 'ï' looking for "
                          "beginning of value")
    if not data.strip():
        return None
    text = data.decode("utf-8", "replace").lstrip(" \t\r\n")
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError as e:
        raise bad_request("invalid JSON in request body: %s" % (e,)) from None
    except RecursionError:
        value = None
        depth = MAX_JSON_DEPTH + 1
    else:
        depth = json_depth(text[:end].encode("utf-8", "replace"))
    if depth > MAX_JSON_DEPTH:
        raise bad_request("invalid JSON in request body: nested deeper than %d levels"
                          % (MAX_JSON_DEPTH,))
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def read_json(request, limit=MAX_JSON_BODY, required=True):
    """
    Decode the request's JSON body (see L{read_json_value}).

    @raise DockerError: 400 for malformed JSON or a non-object, 413 for a body
        over C{limit}.
    """
    value = read_json_value(request, limit)
    if value is None:
        if required:
            raise bad_request("request body is empty; a JSON object is required")
        return {}
    if not isinstance(value, dict):
        raise bad_request("invalid JSON in request body: expected an object")
    return value
