"""
Certificates for a lab whose engines demand mutual TLS: one CA, one server
certificate for every engine address, one client certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

import attr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class LabTLS:
    """
    Paths of a lab's certificates (PEM files).

    @ivar ca: the CA certificate both sides trust.
    @ivar cert: the client certificate (C{extendedKeyUsage clientAuth}).
    @ivar key: the client key.
    @ivar cert_path: a folder with C{ca.pem}, C{cert.pem} and C{key.pem}, as
        the docker CLI's C{DOCKER_CERT_PATH} wants it.
    @ivar server_cert: the engines' certificate (C{subjectAltName} holds
        127.0.0.1, localhost and every engine address).
    @ivar server_key: the engines' key.
    @ivar manager_cert: a certificate for a swarm manager, good both to serve
        clients (C{serverAuth}, SAN 127.0.0.1 and localhost) and to be a
        client of the engines (C{clientAuth}): classic Swarm uses one
        C{--tlscert} for both sides.
    @ivar manager_key: its key.
    """

    ca: str
    cert: str
    key: str
    cert_path: str
    server_cert: str
    server_key: str
    manager_cert: str = ""
    manager_key: str = ""

    def to_json(self) -> dict[str, str]:
        """
        @return: the paths as a JSON-ready C{dict}.
        """
        return attr.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, str] | None) -> LabTLS | None:
        """
        @param data: what L{to_json} returned, or C{None}.
        @return: the L{LabTLS}, or C{None} for C{None}.
        """
        return None if data is None else cls(**data)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: str, data: bytes, private: bool = False) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject: str, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def make_certificates(folder: str, addresses: list[str], days: int = 30) -> LabTLS:
    """
    Make a CA, a server certificate and a client certificate.

    @param folder: where to write them (created if missing).
    @param addresses: the IP addresses the engines listen on; 127.0.0.1 and
        the name C{localhost} are always included.
    @param days: validity of every certificate.
    @return: the L{LabTLS} naming the files.
    """
    client_folder = os.path.join(folder, "client")
    os.makedirs(client_folder, exist_ok=True)

    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swarmd lab CA")])
    ca_cert = (
        _builder("swarmd lab CA", ca_name, ca_key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ips = []
    for address in ["127.0.0.1", *addresses]:
        ip = ipaddress.ip_address(address)
        if ip not in ips:
            ips.append(ip)
    server_key = _key()
    server_cert = (
        _builder("swarmd lab engine", ca_name, server_key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost")] + [x509.IPAddress(ip) for ip in ips]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    client_key = _key()
    client_cert = (
        _builder("swarmd lab client", ca_name, client_key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    manager_key = _key()
    manager_cert = (
        _builder("swarmd lab manager", ca_name, manager_key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = _pem_cert(ca_cert)
    _write(os.path.join(folder, "ca.pem"), ca_pem)
    _write(os.path.join(folder, "ca-key.pem"), _pem_key(ca_key), private=True)
    _write(os.path.join(client_folder, "ca.pem"), ca_pem)
    return LabTLS(
        ca=os.path.join(folder, "ca.pem"),
        cert=_write(os.path.join(client_folder, "cert.pem"), _pem_cert(client_cert)),
        key=_write(os.path.join(client_folder, "key.pem"), _pem_key(client_key), private=True),
        cert_path=client_folder,
        server_cert=_write(os.path.join(folder, "server-cert.pem"), _pem_cert(server_cert)),
        server_key=_write(os.path.join(folder, "server-key.pem"), _pem_key(server_key),
                          private=True),
        manager_cert=_write(os.path.join(folder, "manager-cert.pem"), _pem_cert(manager_cert)),
        manager_key=_write(os.path.join(folder, "manager-key.pem"), _pem_key(manager_key),
                           private=True),
    )
