from __future__ import annotations

import json
import stat

import pytest

from pbx.db import kamailio_db_url
from pbx.kamailio.config import KamailioSettings, render_template, write_config


def test_every_placeholder_must_have_a_value():
    assert render_template("a={{ x }} b={{y}}", {"x": 1, "y": "z"}) == "a=1 b=z"
    with pytest.raises(KeyError, match="y"):
        render_template("{{ x }} {{ y }}", {"x": 1})


def test_the_generated_config_has_no_placeholders_left_and_is_private(tmp_path):
    s = KamailioSettings(run_dir=tmp_path / "run", database_url=f"sqlite:///{tmp_path}/pbx.sqlite",
                         domain="pbx.example", sip_port=5999, max_call_setup_s=20)
    write_config(s)
    cfg = s.config_path.read_text()
    assert "{{" not in cfg
    assert 'listen=udp:127.0.0.1:5999' in cfg
    assert f'"sqlite://{tmp_path}/pbx.sqlite"' in cfg
    assert 'modparam("tm", "max_inv_lifetime", 20000)' in cfg
    assert stat.S_IMODE(s.config_path.stat().st_mode) == 0o600
    assert json.loads(s.routing_config_path.read_text())["domain"] == "pbx.example"


@pytest.mark.parametrize("url, expected", [
    ("sqlite:////var/lib/talker/pbx.sqlite", "sqlite:///var/lib/talker/pbx.sqlite"),
    ("postgresql://talker:pw@db.local:5433/pbx", "postgres://talker:pw@db.local:5433/pbx"),
    ("postgresql+psycopg://talker@localhost/pbx", "postgres://talker@localhost/pbx"),
])
def test_database_urls_are_spelled_the_way_kamailio_reads_them(url, expected):
    assert kamailio_db_url(url) == expected


@pytest.mark.parametrize("url", ['postgresql://talker:p"w@db/pbx', "postgresql://talker:p%2Fw@db/pbx"])
def test_credentials_kamailio_cannot_read_are_refused_with_a_sentence(url):
    with pytest.raises(ValueError, match="."):
        kamailio_db_url(url)
