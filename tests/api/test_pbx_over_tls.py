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
from pathlib import Path

import pytest

from tests.api.helpers import until, until_fresh
from tests.support.app import talker
from tests.support.relay import Relay
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


def _front(api, folder: Path, names: list[str]) -> tuple[Relay, Path]:
    """A TLS front (tests/support/relay.py) for the PBX API with a certificate for `names` from a
    company authority of its own, and that authority's PEM."""
    authority, certificate, key = _authority_and_certificate(folder, names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    return Relay(api.port, tls=context), authority


def test_the_app_logs_in_and_follows_the_pbx_over_tls(api, company, monkeypatch, tmp_path):
    front, authority = _front(api, tmp_path, ["localhost", "127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))
    url = f"https://localhost:{front.port}"

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

    try:
        session = pbx_client.login(url, "102", company["boris"].communicator_password)
        assert session["employee"]["name"] == "Boris Petrov"
        asyncio.run(scenario())
    finally:
        front.stop()


@pytest.mark.parametrize("case", ["nobody trusts its authority", "a certificate for another name"])
def test_a_certificate_the_app_cannot_trust_is_refused_in_words(api, company, monkeypatch, tmp_path, case):
    names = ["pbx.example.com"] if case == "a certificate for another name" else ["localhost", "127.0.0.1"]
    front, authority = _front(api, tmp_path, names)
    try:
        if case == "a certificate for another name":
            monkeypatch.setenv("SSL_CERT_FILE", str(authority))
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
