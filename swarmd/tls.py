"""
TLS for the manager: the context its listeners serve with (mutual TLS
under C{--tlsverify}) and the client connections it opens to engines.

Classic Swarm uses one set of C{--tls*} flags for both sides: the
certificate the manager shows its clients is also the client certificate it
shows engines, and the CA verifies both.
"""

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
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
    kwargs = {}
    if tls.verify:
        kwargs = {"verify": True, "caCerts": [ca.original], "requireCertificate": True}
    return ssl.CertificateOptions(
        privateKey=mine.privateKey.original, certificate=mine.original,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2, **kwargs)


def wrap_server_factory(tls, factory):
    """
    Wrap a server protocol factory in TLS.
    """
    return TLSMemoryBIOFactory(server_options(tls), False, factory)


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
