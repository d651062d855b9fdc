"""
TLS for the manager: the context its listeners serve with (mutual TLS
under C{--tlsverify}) and the client connections it opens to engines.

Classic Swarm uses one set of C{--tls*} flags for both sides: the
certificate the manager shows its clients is also the client certificate it
shows engines, and the CA verifies both.
"""

from typing import Any

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, ITransport
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer


class TLSConfigError(Exception):
    """
    A certificate, key or CA file cannot be used.
    """


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TLSConfigError("cannot read %s %s: %s" % (what, path, e.strerror)) from None


def _private_certificate(tls):
    if not (tls.cert and tls.key):
        return None
    try:
        return ssl.PrivateCertificate.loadPEM(
            _read(tls.cert, "certificate") + b"\n" + _read(tls.key, "key"))
    except Exception as e:
        raise TLSConfigError("invalid certificate or key (%s, %s): %s" % (
            tls.cert, tls.key, e)) from None


def _ca(tls):
    if not tls.cacert:
        return None
    try:
        return ssl.Certificate.loadPEM(_read(tls.cacert, "CA certificate"))
    except Exception as e:
        raise TLSConfigError("invalid CA certificate %s: %s" % (tls.cacert, e)) from None


def server_options(tls):
    """
    The context the manager's listeners serve with.

    @param tls: the L{swarmd.config.TLSOptions}.
    @return: a L{CertificateOptions}; with C{verify}, clients must present
        a certificate signed by the CA.
    """
    mine = _private_certificate(tls)
    if mine is None:
        raise TLSConfigError("--tls needs --tlscert and --tlskey")
    ca = _ca(tls)
    if tls.verify and ca is None:
        raise TLSConfigError("--tlsverify needs --tlscacert")
    kwargs: dict[str, Any] = {}
    if tls.verify:
        kwargs = {"verify": True, "caCerts": [ca.original], "requireCertificate": True}
    return ssl.CertificateOptions(
        privateKey=mine.privateKey.original, certificate=mine.original,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2, **kwargs)


#: What a Go server (dockerd's) answers plain HTTP on a TLS port with.
PLAIN_HTTP_ANSWER = (b"HTTP/1.0 400 Bad Request\r\n\r\n"
                     b"Client sent an HTTP request to an HTTPS server.\n")

#: The first five bytes of an HTTP request, as Go's server recognizes one on
#: a TLS port (C{tlsRecordHeaderLooksLikeHTTP}).
_HTTP_STARTS = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO")


class _PlainHTTPSniffer(Protocol):
    """
    The first protocol of a TLS listener's connection: reads the first five
    bytes; an HTTP request gets Go's answer and the connection is closed,
    anything else is handed to TLS (which then gets every byte).

    @ivar _inner: the factory building the TLS protocol.
    """

    # Set by makeConnection before any byte arrives.
    transport: ITransport

    def __init__(self, inner, addr):
        self._inner = inner
        self._addr = addr
        self._buffer = b""
        self._tls = None
        self._refused = False

    def dataReceived(self, data):
        if self._refused:
            return
        if self._tls is not None:
            self._tls.dataReceived(data)
            return
        self._buffer += data
        if len(self._buffer) < 5:
            return
        buffered, self._buffer = self._buffer, b""
        if buffered[:5] in _HTTP_STARTS:
            self.transport.write(PLAIN_HTTP_ANSWER)
            self.transport.loseConnection()
            self._refused = True
            return
        self._hand_over(buffered)

    def _hand_over(self, buffered):
        tls = self._inner.buildProtocol(self._addr)
        if tls is None:
            self.transport.loseConnection()
            return
        self._tls = tls
        # The transport talks to the TLS protocol from now on (half-close
        # and hijack included).
        if getattr(self.transport, "protocol", None) is self:
            self.transport.protocol = tls
        tls.makeConnection(self.transport)
        tls.dataReceived(buffered)

    def connectionLost(self, reason=connectionDone):
        if self._tls is not None:
            self._tls.connectionLost(reason)


class PlainHTTPRefusingFactory(Factory):
    """
    A TLS listener's factory that answers plain HTTP as dockerd does
    (C{Client sent an HTTP request to an HTTPS server.}) instead of
    letting the handshake fail without a word.
    """

    noisy = False

    def __init__(self, tls_factory):
        """
        @param tls_factory: the L{TLSMemoryBIOFactory} serving TLS.
        """
        self.tls_factory = tls_factory

    def doStart(self):
        self.tls_factory.doStart()

    def doStop(self):
        self.tls_factory.doStop()

    def buildProtocol(self, addr):
        return _PlainHTTPSniffer(self.tls_factory, addr)


def wrap_server_factory(tls, factory):
    """
    Wrap a server protocol factory in TLS; plain HTTP gets dockerd's answer.
    """
    return PlainHTTPRefusingFactory(TLSMemoryBIOFactory(server_options(tls), False, factory))


def tls_error_text(error):
    """
    Words for a TLS failure, instead of the Python structures pyOpenSSL and
    service_identity print (C{[('SSL routines', '', 'wrong version
    number')]}).

    @param error: an exception.
    @return: a C{str}, or L{None} when C{error} is not a TLS failure.
    """
    if isinstance(error, SSL.Error):
        reasons = []
        for entry in (error.args[0] if error.args else None) or ():
            if isinstance(entry, tuple) and entry:
                reasons.append(str(entry[-1]))
            else:
                reasons.append(str(entry))
        reasons = [r for r in dict.fromkeys(reasons) if r]
        text = "TLS handshake failed"
        if reasons:
            text += ": " + "; ".join(reasons)
        if "wrong version number" in reasons or "packet length too long" in reasons:
            text += " (the other side does not speak TLS)"
        return text
    if error.__class__.__name__ in ("VerificationError", "CertificateError"):
        return "TLS certificate does not match the engine's address"
    return None


@implementer(IOpenSSLClientConnectionCreator)
class _Unverified:
    """
    TLS to engines without checking their certificate (C{--tls} without
    C{--tlsverify}, as classic Swarm's InsecureSkipVerify).
    """

    def __init__(self, mine):
        kwargs = {}
        if mine is not None:
            kwargs = {"privateKey": mine.privateKey.original, "certificate": mine.original}
        self._options = ssl.CertificateOptions(verify=False, **kwargs)

    def clientConnectionForTLS(self, tlsProtocol):
        context = self._options.getContext()
        connection = SSL.Connection(context, None)
        connection.set_app_data(tlsProtocol)
        return connection


def engine_tls(tls):
    """
    How the manager opens TLS connections to engines.

    @param tls: the L{swarmd.config.TLSOptions}.
    @return: L{None} for plain connections, else a callable taking the
        engine's host and returning an C{IOpenSSLClientConnectionCreator}.
    """
    if not tls.enabled:
        return None
    mine = _private_certificate(tls)
    if not tls.verify:
        unverified = _Unverified(mine)
        return lambda host: unverified
    ca = _ca(tls)
    if ca is None:
        raise TLSConfigError("--tlsverify needs --tlscacert")

    def creator(host):
        return ssl.optionsForClientTLS(host, trustRoot=ca, clientCertificate=mine)

    return creator
