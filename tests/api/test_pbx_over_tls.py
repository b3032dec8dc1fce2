"""The app and a PBX on https: the real PBX API behind a TLS front with a certificate from the
company's own authority, as nginx or Caddy stand in front of a PBX on the internet.

The app trusts what the OS trusts (here the authority is added with SSL_CERT_FILE, as an
administrator adds one to the system store): it logs in, and its event stream (wss) brings an
administrator's change. A certificate nobody trusts, or one for another name, is refused with
the sentence a person understands, and nothing is sent to that server."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import threading
from pathlib import Path

import pytest

from tests.api.helpers import until, until_fresh
from tests.support.app import talker
from tray import pbx_client
from tray.pbx_client import PbxClient, PbxRequestFailed
from tray.secret_store import open_store


def _authority_and_certificate(folder: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """A company's own authority and a server certificate it issued for `names`: the authority's
    PEM, the certificate's and its key's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Company's authority")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "authority.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class TlsFront:
    """A TLS server on a loopback port that hands each connection on to the PBX API's plain port,
    on a thread of its own. `connections` counts those that got past the handshake."""

    def __init__(self, upstream_port: int, certificate: Path, key: Path):
        self.upstream_port = upstream_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificate, key)
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()

        tasks = [asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:
            pass
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _front(api, folder: Path, names: list[str]) -> TlsFront:
    authority, certificate, key = _authority_and_certificate(folder, names)
    server = TlsFront(api.port, certificate, key)
    server.authority = authority
    return server


@pytest.fixture
def front(api, tmp_path):
    """The PBX at https://localhost:PORT (and 127.0.0.1), its certificate from the company's authority."""
    server = _front(api, tmp_path, ["localhost", "127.0.0.1"])
    try:
        yield server
    finally:
        server.stop()


def test_the_app_logs_in_and_follows_the_pbx_over_tls(api, company, front, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(front.authority))
    url = f"https://localhost:{front.port}"
    session = pbx_client.login(url, "102", company["boris"].communicator_password)
    assert session["employee"]["name"] == "Boris Petrov"

    async def scenario():
        client = PbxClient(url, open_store(), region="RU", on_change=lambda: None, on_sip=lambda sip: None)
        client.store_session(session)
        client.start()
        try:
            await until_fresh(client)
            with api.as_(company["admin"]) as admin:
                r = admin.post("/contacts/company", json={"name": "Over TLS", "number": "+74951234567"})
                assert r.status_code == 201, r.text
            # The event stream (wss) announces it; the client refetches the book.
            await until(lambda: client.caller_name("+74951234567") == "Over TLS", "the new contact")
        finally:
            await client.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("case", ["nobody trusts its authority", "a certificate for another name"])
def test_a_certificate_the_app_cannot_trust_is_refused_in_words(api, company, monkeypatch, tmp_path, case):
    names = ["pbx.example.com"] if case == "a certificate for another name" else ["localhost", "127.0.0.1"]
    front = _front(api, tmp_path, names)
    try:
        if case == "a certificate for another name":
            monkeypatch.setenv("SSL_CERT_FILE", str(front.authority))
        url = f"https://127.0.0.1:{front.port}"
        with pytest.raises(PbxRequestFailed) as refused:
            pbx_client.login(url, "102", company["boris"].communicator_password)
        assert refused.value.code == "pbx_unavailable"
        assert pbx_client.tr("net.tls") in str(refused.value)
        done = talker("--login", "102", "--pbx", url, stdin=company["boris"].communicator_password + "\n")
        assert done.returncode == 1, done.stderr
        assert pbx_client.tr("net.tls") in done.stderr, done.stderr
        assert front.connections == 0, "a connection the app should have refused carried a request"
    finally:
        front.stop()
