"""Number strings that once crashed the dial-string parser (issue 11, finding 5), at each door a
user or a web page has: `talker --callto`, the browser's native host, the app. And RFC 3966's
phone-context, which used to be ignored.
"""

from __future__ import annotations

import pytest

from tests.support.app import App, talker
from tests.integration.test_native_host_process import HostProcess

pytestmark = pytest.mark.slow

# "+" after the first character: parse() raised StopIteration on each.
ONCE_CRASHED = ["1+2", "*1+2", "+7+495", "tel:*21*+74991234567#"]


@pytest.mark.parametrize("target, says", [
    *[(t, "may only begin it.") for t in ONCE_CRASHED],
    ("tel:7042;phone-context=example.com", "is a number local to “example.com”, which Talker cannot dial."),
])
def test_talker_callto_refuses_them_with_exit_2_and_one_sentence(target, says):
    done = talker(f"--callto={target}", timeout=30)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("talker: ") and lines[0].endswith(says), lines[0]
    assert done.stdout == ""


def test_the_native_host_answers_invalid_number_for_them_and_keeps_running(tmp_path):
    app = App(tmp_path)
    host = HostProcess()
    try:
        app.client().close()
        for i, target in enumerate(ONCE_CRASHED):
            host.send({"id": str(i), "action": "call", "target": target})
            reply = host.receive()
            assert reply["id"] == str(i) and reply["ok"] is False, reply
            assert reply["error"]["code"] == "invalid_number", (target, reply)
            assert reply["error"]["message"].endswith("may only begin it."), reply
        host.send({"id": "status", "action": "status"})
        reply = host.receive()
        assert reply["id"] == "status" and reply["ok"] is True, reply
        assert host.proc.poll() is None
    finally:
        host.kill()
        app.quit()
    assert "Traceback" not in app.stderr()


@pytest.mark.parametrize("db_url", [None], ids=["sqlite"])  # the database plays no part here
@pytest.mark.parametrize("target", ["tel:2079460958;phone-context=+44", "tel:7946-0958;phone-context=+44-20"])
def test_a_local_number_in_a_global_phone_context_is_dialed_in_that_context(kamailio, talker_app, target):
    app = talker_app(kamailio)
    with app.client() as c:
        result = c.request("call", target=target)
    assert result["call"]["number"] == "+442079460958"
