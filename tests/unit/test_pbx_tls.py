"""What the PBX client checks TLS with (tray/pbx_client.py): the CA bundle for an https PBX; for a
plain-http one, which never speaks TLS, no bundle in memory and nothing a TLS peer could pass."""

from __future__ import annotations

import ssl

from tray.pbx_client import tls_verification


def test_an_https_pbx_is_checked_against_the_ca_bundle():
    assert tls_verification("https://pbx.example.com:8443") is True


def test_a_plain_http_pbx_loads_no_ca_bundle_and_its_context_trusts_nobody():
    context = tls_verification("http://127.0.0.1:8080")
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
