"""TLS: verification on by default, a custom CA bundle, client certificates.

A small HTTPS server in a thread stands in for CouchDB behind TLS; its
certificates are made for the test by the ``openssl`` command.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conventions import CONVENTIONS, call
from corduroy import ConnectError, Couch, TransportError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""
    where = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", "/CN=corduroy test CA", cwd=where)  # fmt: skip
    for name, extra in (
        ("server", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=where)  # fmt: skip
        (where / f"{name}.ext").write_text(extra + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
                "-extfile", f"{name}.ext", cwd=where)  # fmt: skip
    return where


class Welcome(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        subject = dict(pair[0] for pair in cert["subject"]) if cert else {}
        body = json.dumps({"couchdb": "Welcome", "client": subject.get("commonName")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def https_server(pki: Path, require_client_cert: bool) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki / "ca.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Welcome)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def https_url(pki: Path) -> Iterator[str]:
    yield from https_server(pki, require_client_cert=False)


@pytest.fixture(scope="module")
def mutual_url(pki: Path) -> Iterator[str]:
    yield from https_server(pki, require_client_cert=True)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_an_unknown_certificate_is_refused_by_default(https_url, convention):
    couch = Couch(https_url, connect_timeout=5)
    with pytest.raises(ConnectError) as caught:
        call(convention, lambda **kw: couch.info(**kw))
    assert "certificate" in str(caught.value).lower()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_custom_ca_bundle_makes_it_trusted(https_url, pki, convention):
    couch = Couch(https_url, ca_file=str(pki / "ca.pem"))
    assert call(convention, lambda **kw: couch.info(**kw))["couchdb"] == "Welcome"


def test_the_host_name_is_checked_too(https_url, pki):
    by_other_name = https_url.replace("localhost", "127.0.0.2")  # not in the certificate
    with pytest.raises(ConnectError):
        Couch(by_other_name, ca_file=str(pki / "ca.pem"), connect_timeout=5).info()


def test_verification_can_be_turned_off(https_url):
    assert Couch(https_url, verify=False).info()["couchdb"] == "Welcome"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_client_certificate(mutual_url, pki, convention):
    ca = str(pki / "ca.pem")
    pair = (str(pki / "client.pem"), str(pki / "client.key"))
    with_cert = Couch(mutual_url, ca_file=ca, cert=pair)
    assert call(convention, lambda **kw: with_cert.info(**kw))["client"] == "client"
    without = Couch(mutual_url, ca_file=ca, connect_timeout=5, retry=False)
    # TLS 1.3 reports a missing certificate after the handshake: the connection drops
    with pytest.raises(TransportError):
        call(convention, lambda **kw: without.info(**kw))
