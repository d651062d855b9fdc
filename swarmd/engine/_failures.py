"""
What a failed call to an engine means: the engine unreachable (and whether
the request may have reached it), a call its caller cancelled, and the
reason given in errors.
"""

from twisted.internet import error as ierror
from twisted.internet.defer import CancelledError

from swarmd.tls import tls_error_text

#: Errors that mean "the engine cannot be reached", not "the engine said no".
_UNREACHABLE = (
    ierror.ConnectError,
    ierror.ConnectionLost,
    ierror.ConnectionClosed,
    ierror.TimeoutError,
    ierror.DNSLookupError,
    ierror.ConnectingCancelledError,
    CancelledError,
    OSError,
)


def is_unreachable(failure):
    from twisted.web._newclient import (
        RequestNotSent,
        RequestTransmissionFailed,
        ResponseFailed,
        ResponseNeverReceived,
    )

    return failure.check(
        ResponseNeverReceived,
        ResponseFailed,
        RequestTransmissionFailed,
        RequestNotSent,
        *_UNREACHABLE,
    )


def not_sent(failure):
    """
    Whether a failed call surely never reached the engine (no connection,
    or the request was not sent).
    """
    from twisted.web._newclient import RequestNotSent

    return bool(failure.check(ierror.ConnectError, ierror.DNSLookupError, RequestNotSent))


def was_cancelled(failure):
    """
    Whether a call failed because it was cancelled (Twisted's HTTP client
    wraps the L{CancelledError} in L{ResponseNeverReceived}).
    """
    # A call cancelled while connecting fails with ConnectingCancelledError.
    if failure.check(CancelledError, ierror.ConnectingCancelledError):
        return True
    reasons = getattr(failure.value, "reasons", None) or ()
    return any(reason.check(CancelledError) for reason in reasons)


def failure_reason(failure):
    value = failure.value
    reasons = getattr(value, "reasons", None)
    if reasons:
        value = reasons[0].value
    if isinstance(value, (ierror.TimeoutError, CancelledError)):
        return "timed out"
    words = tls_error_text(value)
    if words is not None:
        return words
    text = str(value).strip()
    return text or value.__class__.__name__
