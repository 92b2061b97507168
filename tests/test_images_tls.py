"""HTTPS: the connection goes to the checked address, with the right SNI, Host and checks."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from imageserver import ImageServer, settings_for

from sitegen.images.fetch import Fetcher, FetchError


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    server = ImageServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.sni = []
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.start()
    yield server, cert
    server.stop()


def test_https_sends_sni_and_host_and_verifies_the_certificate(tls):
    server, cert = tls
    client = ssl.create_default_context(cafile=str(cert))
    settings = settings_for(server, allow_hosts=(f"localhost:{server.port}",))
    fetcher = Fetcher(settings, ssl_context=client)
    fetched = fetcher.fetch(f"https://localhost:{server.port}/img/small.png?sni=1")
    assert fetched.data == server.images["small.png"]
    assert server.sni[-1] == "localhost"
    [headers] = server.headers_for("/img/small.png?sni=1")
    assert headers["host"] == f"localhost:{server.port}"


def test_an_untrusted_certificate_is_a_tls_error(tls):
    server, _ = tls
    settings = settings_for(server, allow_hosts=(f"localhost:{server.port}",), retries=0)
    with pytest.raises(FetchError) as info:
        Fetcher(settings).fetch(f"https://localhost:{server.port}/img/small.png")
    assert info.value.reason == "TLS error"


def test_a_certificate_for_another_name_is_a_tls_error(tls):
    server, cert = tls
    client = ssl.create_default_context(cafile=str(cert))
    settings = settings_for(server, retries=0)  # allows 127.0.0.1:<port>
    with pytest.raises(FetchError) as info:
        Fetcher(settings, ssl_context=client).fetch(server.url("/img/small.png")
                                                    .replace("http:", "https:"))
    assert info.value.reason == "TLS error"
