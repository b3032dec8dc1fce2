"""What the PBX client checks TLS with (tray/pbx_transport.py): for an https PBX, the OS's trusted
authorities with the hostname checked; a plain-http one never speaks TLS and loads no authority."""

from __future__ import annotations

import ssl

from tray.pbx_transport import tls_context


def test_an_https_pbx_is_checked_against_the_os_authorities_and_its_name():
    context = tls_context("https://pbx.example.com:8443")
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_a_plain_http_pbx_gets_no_tls_at_all():
    assert tls_context("http://127.0.0.1:8080") is None
