"""TLS: a local HTTPS server whose certificate is signed by a CA made for the test.

Refused by default (certificate verification is on), accepted with the CA given
(``ca_file=`` or ``ssl_context=``), and refused again for a host name the
certificate does not name. A failed verification is never retried.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conventions import CONVENTIONS, call
from corduroy import Couch
from corduroy.errors import ConnectError, TransportError

pytestmark = pytest.mark.timeout(60)

WELCOME = {"couchdb": "Welcome", "version": "3.4.3", "vendor": {"name": "tls test"}}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(where: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1 only: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("corduroy test CA"))
        .issuer_name(_name("corduroy test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = where / "ca.pem", where / "server.pem", where / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps(WELCOME).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TLSServer(ThreadingHTTPServer):
    """Answers ``GET /`` like CouchDB, over TLS; counts the connections it accepted."""

    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.accepted = 0

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        self.accepted += 1
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), (
            address
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes are the point of some tests


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TLSServer, Path]]:
    ca, cert, key = make_certificates(tmp_path_factory.mktemp("tls"))
    server = TLSServer(cert, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, ca
    server.shutdown()
    server.server_close()


def url(server: TLSServer, host: str = "127.0.0.1") -> str:
    return f"https://{host}:{server.server_address[1]}/"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_an_unknown_certificate_is_refused_by_default(
    tls: tuple[TLSServer, Path], convention: str
) -> None:
    server, _ = tls
    couch = Couch(url(server), connect_timeout=5)
    before = server.accepted
    with pytest.raises(ConnectError) as info:
        call(convention, lambda **kw: couch.info(**kw))
    assert isinstance(info.value, TransportError)
    assert "certificate verify failed" in str(info.value).lower()
    assert server.accepted - before == 1  # verification failures are not retried


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_certificate_is_accepted_with_its_ca(
    tls: tuple[TLSServer, Path], convention: str
) -> None:
    server, ca = tls
    for couch in (
        Couch(url(server), ca_file=str(ca)),
        Couch(url(server), ssl_context=ssl.create_default_context(cafile=str(ca))),
    ):
        assert call(convention, lambda c=couch, **kw: c.info(**kw))["couchdb"] == "Welcome"
        couch.close()


def test_a_name_the_certificate_does_not_hold_is_refused(tls: tuple[TLSServer, Path]) -> None:
    server, ca = tls
    couch = Couch(url(server, "localhost"), ca_file=str(ca))
    with pytest.raises(ConnectError, match=r"(?i)certificate verify failed|hostname"):
        couch.info()
