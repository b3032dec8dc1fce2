"""Every way a person meets a failure, in English and in Russian, through the real CLI, the real
app and its windows on a real PBX (Kamailio answers the calls): each says a sentence in the
person's language, never an exception's text, a SIP or HTTP status line, or English inside the
Russian interface (issue 14: «503 No Trunk Configured», «[Errno 111] Connection refused», «The
extension 102 belongs to Boris Petrov already.», «Request URL is missing an 'http://'…»)."""

from __future__ import annotations

import http.server
import threading

import pytest

from tests.support.app import talker
from tests.support.processes import free_port, wait_until
from tests.support.words import assert_sentence

pytestmark = pytest.mark.slow


class _NotAPbx(http.server.BaseHTTPRequestHandler):
    """Another web server where the user thought the PBX was."""

    def do_POST(self):
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>Not Found</body></html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def not_a_pbx():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAPbx)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _cli_login(lang: str, login: str, pbx: str, password: str):
    import os

    return talker("--login", login, "--pbx", pbx, stdin=password + "\n", env={**os.environ, "TALKER_LANG": lang})


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_failure_is_a_sentence_in_the_users_language(lang, windowed_app, pbx_api, not_a_pbx):
    anna = pbx_api.add_employee("101", "Anna Ivanova", admin=True)
    pbx_api.add_employee("102", "Boris Petrov", mobile="+79160001122", email="boris@example.com")
    pbx_api.add_employee("103", "Vera Sidorova")   # no phone registered: nobody can take her calls

    # `talker --login` to a port nobody listens on, to a web server that is not a PBX, with a
    # wrong password; then with the address typed without http://, as the login window takes it.
    closed = f"127.0.0.1:{free_port()}"
    for pbx, password in ((closed, "x"), (not_a_pbx, "x"), (pbx_api.url, "wrong")):
        done = _cli_login(lang, "101", pbx, password)
        assert done.returncode != 0
        assert_sentence(done.stderr.removeprefix("talker: "), lang, allowed=(f"http://{pbx}", pbx))
    done = _cli_login(lang, "101", pbx_api.url.removeprefix("http://"), anna.communicator_password)
    assert done.returncode == 0, done.stderr
    assert_sentence(done.stdout, lang, allowed=("Anna Ivanova", pbx_api.url))

    app = windowed_app(None, lang=lang)
    app.app.wait_registered()
    wait_until(lambda: not app.request("pbx_state")["stale"], 15, 0.1, "the PBX state")

    # A new employee with an extension, a mobile and an e-mail someone already has.
    w = app.open("employee")
    for field, value in (("extension", "102"), ("mobile", "8 916 000-11-22"), ("email", "boris@example.com")):
        w.set("name", "Dmitry Orlov")
        w.set("extension", "104")
        w.set("mobile", "")
        w.set("email", "")
        w.set(field, value)
        w.invoke("save")
        state = w.settled(lambda s, field=field: s[f"{field}_error"]["text"])
        assert_sentence(state[f"{field}_error"]["text"], lang, allowed=("Boris Petrov", value, "+79160001122"))
        assert "Boris Petrov" in state[f"{field}_error"]["text"]
        assert_sentence(state["message"]["text"], lang, allowed=("Boris Petrov", value, "+79160001122"))
    w.close()

    # Calls the PBX refuses: an outside number with no trunk set up (503), a colleague with no
    # phone on (480). The dial window and the tray's notification both say why.
    d = app.open("dial")
    for number in ("+74951234567", "103"):
        d.set("number", number)
        d.invoke("call")
        state = d.settled(lambda s: s["call_state"]["text"].startswith(("The call has ended", "Звонок завершён")))
        text = state["call_state"]["text"]
        assert text not in ("The call has ended.", "Звонок завершён."), "it does not say why"
        assert_sentence(text, lang)
        wait_until(lambda number=number: any(number in n for n in app.app.notifications()), 10, 0.1,
                   "a notification")
        said = [n for n in app.app.notifications() if number in n][-1]
        assert_sentence(said, lang, allowed=(number, "Vera Sidorova (103)"))
    d.close()

    # The PBX's API goes away: the menu's and the popup's reason, and a window that needs it.
    pbx_api.stop()
    reason = wait_until(lambda: (s := app.request("pbx_state"))["stale"] and s["reason"], 20, 0.1, "stale state")
    assert_sentence(reason, lang, allowed=(pbx_api.url,))
    s = app.open("settings")
    text = s.settled(lambda st: st["message"]["text"] and not st["message"]["text"].startswith(("Load", "Загр")))[
        "message"]["text"]
    assert_sentence(text, lang, allowed=(pbx_api.url,))
    s.close()
