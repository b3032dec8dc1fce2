"""The app's session with a Talker PBX: log in and out, the PBX client while logged in, and the
SIP account the PBX hands out.

The session keeps the account's secrets (the SIP password, the PBX's refresh token) in the
secret store and the rest in the settings file; the app learns of a new SIP account through
`on_account` and registers with `sip_account()`. Everything here but the constructor and the
read-only questions runs on the control thread's loop.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from common.i18n import tr
from tray import settings as settings_mod
from tray.control_server import RequestFailed
from tray.secret_store import sip_password_key
from tray.settings import Settings
from tray.sip.engine import Account

if TYPE_CHECKING:
    from tray.pbx_client import PbxClient

log = logging.getLogger(__name__)


class PbxSession:
    def __init__(self, store, password: str | None, *, settings: Callable[[], Settings],
                 save_settings: Callable[[Settings], None], on_change: Callable[[], None],
                 on_account: Callable[[], None], unregister: Callable[[], Awaitable[object]]):
        """`settings` reads the app's settings and `save_settings` writes them (the app shares
        them with its sound choices); `on_change`: the PBX state changed; `on_account`: the SIP
        account or its password changed; `unregister`: the SIP engine gives up its account."""
        self._store = store
        self._password = password
        self._settings = settings
        self._save_settings = save_settings
        self._on_change = on_change
        self._on_account = on_account
        self._unregister = unregister
        # Made by start(): the app needs the PBX client neither before it has started
        # registering nor ever without a PBX.
        self.pbx: PbxClient | None = None

    def _make_client(self) -> PbxClient | None:
        settings = self._settings()
        if not settings.pbx_url:
            return None
        from tray.pbx_client import PbxClient

        return PbxClient(settings.pbx_url, self._store, region=settings.region,
                         on_change=self._on_change, on_sip=self._pbx_sip)

    # --- questions (any thread) ---------------------------------------------------------------
    @property
    def url(self) -> str | None:
        """The PBX the app is logged in to (None: not logged in)."""
        return self.pbx.base_url if self.pbx is not None else None

    def sip_account(self) -> Account | None:
        """What the SIP engine registers with; None without an account or its password."""
        account = self._settings().account
        if account is None or self._password is None:
            return None
        return Account(account.username, account.domain, self._password, account.server, account.display_name)

    def caller_name(self, number: str) -> str | None:
        """The PBX's directory and address books know a caller better than the SIP display name."""
        return self.pbx.caller_name(number) if self.pbx is not None else None

    def pbx_state(self) -> dict:
        if self.pbx is None:
            return {"available": False, "stale": False, "reason": tr("pbx.not_logged_in")}
        return self.pbx.pbx_state()

    # --- on the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        self.pbx = self._make_client()
        if self.pbx is not None:
            self.pbx.start()
            self._on_change()   # the menu and windows show the PBX's last known state at once

    async def stop(self) -> None:
        if self.pbx is not None:
            await self.pbx.stop()

    async def write(self, operation) -> dict:
        """A change at the PBX (`operation(pbx)`); the reply is the PBX state after it."""
        if self.pbx is None:
            raise RequestFailed("pbx_unavailable", tr("pbx.not_logged_in"))
        from tray.pbx_client import PbxRequestFailed   # loaded with the client

        try:
            await operation(self.pbx)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None
        return self.pbx_state()

    async def api(self, method: str, path: str, body, if_match: str | None) -> dict:
        if self.pbx is None:
            raise RequestFailed("pbx_unavailable", tr("pbx.not_logged_in"))
        from tray.pbx_client import PbxRequestFailed   # loaded with the client

        try:
            return await self.pbx.raw(method, path, body, if_match)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None

    async def login(self, pbx_url: str, login_name: str, password: str, *, region: str | None = None,
                    names: dict[str, str] | None = None) -> dict:
        """Log in to a Talker PBX: keep the session, register with the SIP credentials it hands out.
        `talker --login` may also set the region and the names to dial."""
        from tray.pbx_client import PbxRequestFailed, log_in, refresh_token_key

        try:
            session = await log_in(pbx_url, login_name, password)
        except PbxRequestFailed as e:
            raise RequestFailed(e.code, str(e)) from None
        sip, me = session["sip"], session["employee"]
        account = settings_mod.AccountSettings(sip["username"], sip["domain"], sip["proxy"], me["name"])
        current = self._settings()
        new = dataclasses.replace(current, account=account, pbx_url=pbx_url.rstrip("/"), pbx_login=login_name,
                                  region=(region or current.region).upper(), names=names or current.names)
        try:
            new.validate()
        except settings_mod.SettingsError as e:
            raise RequestFailed("pbx_refused", str(e)) from None
        self._store.set(sip_password_key(account.aor), sip["password"])
        self._store.set(refresh_token_key(new.pbx_url), session["refresh_token"])
        self._save_settings(new)
        old_pbx, self._password = self.pbx, sip["password"]
        if old_pbx is not None:
            await old_pbx.stop()
        self.pbx = self._make_client()
        self.pbx.start()
        self._on_account()
        return {"employee": me}

    async def use_sip_account(self, server: str, user: str, password: str, display_name: str = "", *,
                              region: str | None = None, names: dict[str, str] | None = None) -> dict:
        """A plain SIP account on any server instead of a Talker PBX (whose session, if any, ends).
        `user` is user@domain, or just the user when the domain is the server's host.
        `talker --configure-account` may also set the region and the names to dial."""
        username, at, domain = user.strip().rpartition("@")
        if not at:
            username, domain = user.strip(), server.strip().rsplit(":", 1)[0].strip("[]")
        account = settings_mod.AccountSettings(username, domain, server.strip(), display_name.strip())
        try:
            account.validate()
        except settings_mod.SettingsError as e:
            log.info("plain SIP account refused: %s", e)
            raise RequestFailed("invalid_account", tr("app.bad_sip_account")) from None
        current = self._settings()
        new = dataclasses.replace(current, account=account, pbx_url=None, pbx_login=None,
                                  region=(region or current.region).upper(), names=names or current.names)
        try:
            new.validate()
        except settings_mod.SettingsError as e:
            raise RequestFailed("invalid_account", str(e)) from None
        if self.pbx is not None:
            await self.logout()
        self._store.set(sip_password_key(account.aor), password)
        self._save_settings(new)
        self._password = password
        self._on_account()
        self._on_change()
        return {"account": account.aor}

    async def logout(self) -> dict:
        """End the PBX session, unregister, and forget the account's secrets."""
        if self.pbx is not None:
            await self.pbx.logout()
            await self.pbx.stop()
        settings = self._settings()
        if settings.account is not None:
            self._store.delete(sip_password_key(settings.account.aor))
        self.pbx = None
        self._save_settings(dataclasses.replace(settings, account=None, pbx_url=None, pbx_login=None))
        self._password = None
        await self._unregister()
        self._on_change()
        return {}

    def _pbx_sip(self, sip: dict) -> None:
        """The PBX handed out SIP credentials (at each session refresh): use them if they changed."""
        settings = self._settings()
        account = settings.account
        if (account is not None and self._password == sip["password"] and account.username == sip["username"]
                and account.domain == sip["domain"] and account.server == sip["proxy"]):
            return
        account = settings_mod.AccountSettings(sip["username"], sip["domain"], sip["proxy"],
                                               account.display_name if account else "")
        self._store.set(sip_password_key(account.aor), sip["password"])
        self._save_settings(dataclasses.replace(settings, account=account))
        self._password = sip["password"]
        log.info("SIP credentials from the PBX changed: registering as %s", account.aor)
        self._on_account()
