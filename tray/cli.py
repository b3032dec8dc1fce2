"""`talker`: start the app, or hand it a number to dial.

    talker                           start Talker (in the foreground)
    talker --callto=NUMBER           dial in the running Talker (starting it if need be)
    talker --callto="Boris Petrov"   a colleague's or a contact's name, when exactly one has it
    talker tel:+74951234567          the same for tel:, callto:, sip: and sips: links
    talker --status | --quit
    talker --login 101@pbx.local --pbx http://HOST:8080          (communicator password on stdin)
    talker --configure-account USER@DOMAIN --server HOST[:PORT]   (plain SIP; password on stdin)

The dial path imports only the standard library and common/: the number goes over the control
channel to the running app, which judges it by common/dialstring (so a dial that goes through
loads those rules once, in the app), and the process exits as soon as the app has the INVITE
out. The rules run here only where the app cannot: before starting it, and to word what the
control protocol refuses before the app reads it (nothing, over 256 characters). Exit
codes: 0 done, 1 failed (app or PBX), 2 not a number Talker will dial, a name nobody or more
than one person has (or bad usage).
"""

from __future__ import annotations

import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LINK_SCHEMES = ("tel:", "callto:", "sip:", "sips:")
# Waiting for a newly started app: its control channel, then its reply (which waits for the
# registration, CALL_WAIT_FOR_REGISTRATION_S in tray/app.py).
APP_START_TIMEOUT_S = 15.0
CALL_REPLY_TIMEOUT_S = 20.0
USAGE_ERROR_CODES = ("invalid_number", "unknown_name", "ambiguous_name")
LOGIN_REPLY_TIMEOUT_S = 30.0  # a login: the PBX checks the password with scrypt, and may be far away


def main(argv: list[str] | None = None) -> int:
    """The `talker` command; its exit code. A dial ends the process itself once it is done: it
    leaves nothing to tidy up (no thread, no file, no atexit work), and the interpreter's
    teardown would add a sixth to its run (bench/callto_latency.py)."""
    args = sys.argv[1:] if argv is None else argv
    target = _dial_target(args)
    if target is None:
        return _full_cli(args)
    code = dial(target)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None in Windows' talker.exe, a program with no console
            stream.flush()
    os._exit(code)


def _dial_target(args: list[str]) -> str | None:
    """The fast path's argument, if that is all there is."""
    if len(args) == 1:
        arg = args[0]
        if arg.startswith("--callto="):
            return arg[len("--callto="):]
        if arg.lower().startswith(LINK_SCHEMES):
            return arg
    if len(args) == 2 and args[0] == "--callto":
        return args[1]
    return None


def _fail(message: str, code: int) -> int:
    print(f"talker: {message}", file=sys.stderr)
    return code


def dial(target: str) -> int:
    from common.control_client import AppNotRunning, ControlClient, ControlError

    try:
        try:
            client = ControlClient.connect(client="cli")
        except ControlError as e:
            # Nothing is started, and no channel complained about, for what is no number.
            refusal = _refusal(target)
            if refusal is not None:
                return _fail(refusal, EXIT_USAGE)
            if not isinstance(e, AppNotRunning):
                raise
            client = _start_app_and_connect()
        with client:
            client.request("call", target=target, timeout=CALL_REPLY_TIMEOUT_S)
    except ControlError as e:
        if e.code == "invalid_message":
            # Refused by the control protocol before the app read it as a number (nothing, or
            # over 256 characters): the rules word it.
            refusal = _refusal(target)
            if refusal is not None:
                return _fail(refusal, EXIT_USAGE)
        return _fail(str(e), EXIT_USAGE if e.code in USAGE_ERROR_CODES else EXIT_FAILED)
    except ValueError as e:  # over the protocol's size limit: nothing was sent
        return _fail(_refusal(target) or str(e), EXIT_USAGE)
    return EXIT_OK


def _refusal(target: str) -> str | None:
    """Why `target` is nothing Talker will dial, in one sentence; None if it may be."""
    from common import dialstring

    try:
        dialstring.parse(target)
    except dialstring.InvalidTarget as e:
        # The app knows names: an exact, unique one, or it says who the candidates are.
        if not e.may_be_a_persons_name(target):
            return str(e)
    return None


def _start_app_and_connect():
    """Start Talker in the background and connect once its control channel is up."""
    import subprocess
    import time

    from common.control_client import AppNotRunning, ControlClient, ControlError
    from common.i18n import tr

    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                    "stderr": subprocess.DEVNULL, "close_fds": True}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    proc = subprocess.Popen([sys.executable, "-m", "tray"], **kwargs)
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            return ControlClient.connect(client="cli")
        except AppNotRunning:
            pass
        code = proc.poll()
        if code is not None:
            # It may have lost a start race to another instance: that one will answer soon.
            if code == 0:
                time.sleep(0.05)
                continue
            raise ControlError("app_not_running", tr("app.start_failed", detail=f"exit code {code}"))
        time.sleep(0.02)
    raise ControlError("app_not_running", tr("app.start_failed", detail=tr("app.no_reply")))


def _full_cli(args: list[str]) -> int:
    import argparse

    from common.i18n import tr

    p = argparse.ArgumentParser(prog="talker", description=tr("cli.description"))
    group = p.add_mutually_exclusive_group()
    group.add_argument("--callto", metavar="NUMBER", help="dial NUMBER in the running Talker")
    group.add_argument("--status", action="store_true", help="print the registration and the calls")
    group.add_argument("--quit", action="store_true", help="make the running Talker exit")
    group.add_argument("--configure-account", metavar="USER@DOMAIN",
                       help="save a plain SIP account (the password is read from stdin)")
    group.add_argument("--login", metavar="LOGIN",
                       help="log in to a Talker PBX (--pbx URL) with a SIP account, mobile or e-mail; "
                            "the communicator password is read from stdin")
    p.add_argument("--pbx", metavar="URL", help="the Talker PBX's address, with --login (http://host:8080)")
    p.add_argument("--server", metavar="HOST[:PORT]", help="the PBX's SIP proxy, with --configure-account")
    p.add_argument("--display-name", default="", help="with --configure-account")
    p.add_argument("--region", help="default region for national numbers, e.g. RU")
    p.add_argument("--name", action="append", default=[], metavar="NAME=EXTENSION",
                   help="a name that may be dialed instead of the extension (repeatable)")
    p.add_argument("link", nargs="?", help="a tel:, callto:, sip: or sips: link to dial")
    ns = p.parse_args(args)

    if ns.link is not None:
        if ns.callto is not None or ns.status or ns.quit or ns.configure_account or ns.login:
            p.error("a link cannot be combined with other options")
        if not ns.link.lower().startswith(LINK_SCHEMES):
            p.error(f"{ns.link!r} is not a tel:, callto:, sip: or sips: link")
        return dial(ns.link)
    if ns.callto is not None:
        return dial(ns.callto)
    if ns.status:
        return _status()
    if ns.quit:
        return _request_quit()
    if ns.configure_account:
        return _configure_account(p, ns)
    if ns.login:
        return _login(p, ns)
    from common.locations import UnsafeDirectory
    from tray.boot import main as app_main

    try:
        return app_main()
    except UnsafeDirectory as e:
        # Another user's folder where ours should be (issue 11): one sentence, not a traceback.
        return _fail(tr("app.start_failed", detail=str(e)), EXIT_FAILED)


def _status() -> int:
    import json

    from common.control_client import ControlClient, ControlError

    try:
        with ControlClient.connect(client="cli") as client:
            status = client.request("status")
    except ControlError as e:
        return _fail(str(e), EXIT_FAILED)
    print(json.dumps(status, ensure_ascii=False, indent=2))
    return EXIT_OK


def _request_quit() -> int:
    from common.control_client import ControlClient, ControlError

    try:
        with ControlClient.connect(client="cli") as client:
            client.request("quit")
    except ControlError as e:
        return _fail(str(e), EXIT_FAILED)
    return EXIT_OK


def _names(p, ns) -> dict[str, str]:
    names = {}
    for item in ns.name:
        name, eq, number = item.partition("=")
        if not eq:
            p.error(f"--name takes NAME=EXTENSION, not {item!r}")
        names[name.strip().lower()] = number.strip()
    return names


def _read_secret(prompt: str) -> str:
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def _login(p, ns) -> int:
    """Log in to the PBX: it hands out the SIP credentials; the session is kept for the app."""
    import dataclasses

    from common.i18n import tr
    from tray import settings as settings_mod
    from tray.pbx_client import PbxRequestFailed, login, refresh_token_key
    from tray.secret_store import open_store, sip_password_key

    if not ns.pbx:
        p.error("--login needs --pbx URL")
    password = _read_secret(tr("cli.password_prompt", account=ns.login))
    if not password:
        return _fail(tr("cli.no_password"), EXIT_USAGE)
    pbx_url = settings_mod.normalise_pbx_url(ns.pbx)  # "pbx.example.com:8080" is an address too
    running = _login_running_app(p, ns, pbx_url, password)
    if running is not None:
        return running
    try:
        current = settings_mod.load()
        session = login(pbx_url, ns.login, password)
        sip, me = session["sip"], session["employee"]
        account = settings_mod.AccountSettings(sip["username"], sip["domain"], sip["proxy"], me["name"])
        # Everything else the user chose (sound devices and switches) stays as it was.
        new = dataclasses.replace(current, account=account, region=(ns.region or current.region).upper(),
                                  names=_names(p, ns) or current.names, pbx_url=pbx_url, pbx_login=ns.login)
        new.validate()
        store = open_store()
        store.set(sip_password_key(account.aor), sip["password"])
        store.set(refresh_token_key(new.pbx_url), session["refresh_token"])
        settings_mod.save(new)
        if getattr(store, "notice", None):
            print(f"talker: {store.notice}", file=sys.stderr)
    except PbxRequestFailed as e:
        return _fail(str(e), EXIT_USAGE if e.code == "pbx_refused" else EXIT_FAILED)
    except settings_mod.SettingsError as e:
        return _fail(str(e), EXIT_USAGE)
    print(tr("cli.logged_in", name=me["name"], extension=me["extension"], url=new.pbx_url))
    return EXIT_OK


def _login_running_app(p, ns, pbx_url: str, password: str) -> int | None:
    """A running app logs in itself (and registers at once); None when no app is running, and
    the login is saved for the app's next start instead."""
    from common.i18n import tr

    fields: dict = {"pbx_url": pbx_url, "login": ns.login, "password": password}
    if ns.region:
        fields["region"] = ns.region
    names = _names(p, ns)
    if names:
        fields["names"] = names
    return _ask_running_app(
        "login", fields, ("pbx_refused", "invalid_message"),
        lambda answer: tr("cli.logged_in", name=answer["employee"]["name"],
                          extension=answer["employee"]["extension"], url=pbx_url.rstrip("/")))


def _ask_running_app(action: str, fields: dict, usage_codes: tuple[str, ...], said) -> int | None:
    """Ask a running app to take an account over itself (it registers at once) and print
    `said(answer)`; None when no app is running, so that the caller saves it for the next start.
    A refusal whose code is in `usage_codes` is the user's mistake (exit 2)."""
    from common.control_client import AppNotRunning, ControlClient, ControlError

    try:
        client = ControlClient.connect(client="cli")
    except AppNotRunning:
        return None
    except ControlError as e:
        return _fail(str(e), EXIT_FAILED)
    try:
        with client:
            answer = client.request(action, timeout=LOGIN_REPLY_TIMEOUT_S, **fields)
    except ControlError as e:
        return _fail(str(e), EXIT_USAGE if e.code in usage_codes else EXIT_FAILED)
    print(said(answer))
    return EXIT_OK


def _configure_account(p, ns) -> int:
    import dataclasses

    from common.i18n import tr
    from tray import settings as settings_mod
    from tray.secret_store import open_store, sip_password_key

    user, at, domain = ns.configure_account.rpartition("@")
    if not at or not user or not domain:
        p.error("--configure-account takes USER@DOMAIN")
    if not ns.server:
        p.error("--configure-account needs --server HOST[:PORT]")
    names = _names(p, ns)
    account = settings_mod.AccountSettings(user, domain, ns.server, ns.display_name)
    password = _read_secret(tr("cli.password_prompt", account=account.aor))
    if not password:
        return _fail(tr("cli.no_password"), EXIT_USAGE)
    fields: dict = {"server": ns.server, "user": account.aor, "password": password,
                    "display_name": ns.display_name}
    if ns.region:
        fields["region"] = ns.region
    if names:
        fields["names"] = names
    switched = _ask_running_app("sip_account", fields, ("invalid_account", "invalid_message"),
                                lambda answer: tr("cli.switched", account=answer["account"]))
    if switched is not None:
        return switched
    try:
        current = settings_mod.load()
        new = dataclasses.replace(current, account=account, region=(ns.region or current.region).upper(),
                                  names=names or current.names, pbx_url=None, pbx_login=None)  # no PBX
        new.validate()
        open_store().set(sip_password_key(account.aor), password)
        settings_mod.save(new)
    except settings_mod.SettingsError as e:
        return _fail(str(e), EXIT_USAGE)
    print(tr("cli.configured", account=account.aor))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
