"""The app's link to the Talker PBX API (pbx/api/): the login, the session, and a live copy of
what the menu and the browser popup show — the employee, their receive scheme, the PBX's
numbers, the directory and the address books.

The copy is kept current by the PBX's event stream (a websocket): every change made anywhere
arrives as {"type": "changed", "resource": ...} and the client refetches that resource. When the
PBX cannot be reached, the last known copy (cached on disk) is shown read-only with the reason,
and the client keeps retrying with backoff; calls still work as long as SIP does.

Runs on an asyncio loop it is given (the app's control loop); `snapshot()` may be read from any
thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from common import dialstring, locations
from common.i18n import tr
from tray import failures
from tray.pbx_transport import HandshakeRefused, HttpClient, NoAnswer, Response, StreamClosed, TransportError

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_RETRY_S = 30.0
# How long a warning about switching off the last device waits for the same request again.
CONFIRM_S = 15.0
STREAM_SESSION_ENDED = 4401  # the event stream's close code when the session has ended


class PbxRequestFailed(Exception):
    """The PBX refused or could not be asked. `code` is a control-channel error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def refresh_token_key(base_url: str) -> str:
    """Where the secret store keeps the session of the PBX at `base_url`."""
    return f"pbx-refresh:{base_url.rstrip('/')}"


def _safe_to_repeat(method: str, headers: dict) -> bool:
    """Sending it twice changes nothing more than once: a read, a PUT or DELETE, or a write
    bound to a version (the second gets 412 if the first got through)."""
    return method in ("GET", "HEAD", "PUT", "DELETE") or "If-Match" in headers


async def log_in(base_url: str, login_name: str, password: str) -> dict:
    """POST /auth/login: the session and SIP credentials, or PbxRequestFailed with the PBX's reason."""
    try:
        http = HttpClient(base_url)
        try:
            r = await http.request("POST", API_PREFIX + "/auth/login", json={"login": login_name, "password": password})
        finally:
            await http.aclose()
        session = r.json() if r.status_code == 200 else None
    except (TransportError, OSError, ValueError) as e:
        raise PbxRequestFailed("pbx_unavailable", tr("pbx.login_unreachable", url=base_url, detail=_why(e))) from None
    if session is None:
        raise PbxRequestFailed(_code_for(r.status_code), _login_refusal(r))
    return session


def login(base_url: str, login_name: str, password: str) -> dict:
    """log_in, where no event loop runs (the command line)."""
    return asyncio.run(log_in(base_url, login_name, password))


def _login_refusal(r: Response) -> str:
    if r.status_code == 401:
        return tr("pbx.wrong_login")
    return _message(r)


def _why(e: Exception) -> str:
    return failures.unreachable(e)


def _message(r: Response) -> str:
    """The user's sentence for a refusal (tray/failures.py); the PBX's English goes to the log."""
    try:
        body = r.json()
    except ValueError:
        body = None
    return failures.refusal(r.status_code, body)


def _code_for(status: int) -> str:
    return {401: "pbx_refused", 403: "forbidden", 412: "pbx_refused", 422: "pbx_refused",
            429: "pbx_refused"}.get(status, "pbx_unavailable")


class PbxClient:
    def __init__(self, base_url: str, store, *, region: str, on_change: Callable[[], None],
                 on_sip: Callable[[dict], None], cache_path: Path | None = None):
        self.base_url = base_url.rstrip("/")
        self._store = store
        self._region = region
        self._on_change = on_change
        self._on_sip = on_sip
        self._cache_path = cache_path or locations.state_dir() / "pbx-cache.json"
        self._lock = threading.Lock()
        self._state = self._load_cache()
        self._access: str | None = None
        self._access_expires = 0.0
        self._http: HttpClient | None = None
        self._refreshing = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._confirming: dict[str, float] = {}  # device id → when switching it off was warned of

    # --- the copy --------------------------------------------------------------------------
    def _load_cache(self) -> dict:
        try:
            data = json.loads(self._cache_path.read_text(encoding="utf-8"))
            if data.get("url") == self.base_url:
                data.update(stale=True, reason=tr("pbx.connecting", url=self.base_url))
                return data
        except (OSError, ValueError):
            pass
        return {"url": self.base_url, "stale": True, "reason": tr("pbx.connecting", url=self.base_url)}

    def _save_cache(self) -> None:
        with self._lock:
            data = {k: v for k, v in self._state.items() if k not in ("stale", "reason")}
        locations.ensure_private_dir(self._cache_path.parent)
        tmp = self._cache_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        tmp.replace(self._cache_path)

    def snapshot(self) -> dict:
        """The copy as it is now. Its values are only ever replaced whole (`_update`), never
        changed in place, so a shallow copy is a consistent view; a reader must not change what
        it holds. (A deep copy cost 13 ms for a company of 2,000 people and 2,000 contacts, and
        every call's every state change and every menu build took one or two.)"""
        with self._lock:
            return dict(self._state)

    def _update(self, **values) -> None:
        with self._lock:
            changed = any(self._state.get(k) != v for k, v in values.items())
            self._state.update(values)
        if changed:
            try:
                self._on_change()
            except Exception:
                log.exception("PBX state listener failed")

    def pbx_state(self) -> dict:
        """The control channel's $defs/pbx_state."""
        st = self.snapshot()
        me = st.get("me")
        scheme = st.get("scheme")
        numbers = st.get("numbers") or []
        state = {"available": True, "stale": bool(st.get("stale")), "reason": st.get("reason"),
                 "employee": None, "receive": None, "outgoing": None}
        if me:
            state["employee"] = {"name": me["name"], "extension": me["extension"],
                                 "administrator": me["administrator"]}
            selected = (me.get("outgoing_number") or {}).get("id")
            state["outgoing"] = {"selected_id": selected, "buy_url": st.get("buy_numbers_url", ""),
                                 "numbers": [{"id": n["id"], "number": n["number"], "label": n["label"]}
                                             for n in numbers]}
        if scheme:
            state["receive"] = {
                "mode": scheme["mode"], "editable": bool(me and me["administrator"]) and not st.get("stale"),
                "devices": [{"id": d["id"], "label": _device_label(d), "kind": d["kind"], "address": d["address"],
                             "active": d["active"], "position": d["position"], "ring_timeout_s": d["ring_timeout_s"]}
                            for d in sorted(scheme["devices"], key=lambda d: d["position"])],
                "do_not_disturb_until": quiet_until(scheme)}
        return state

    def unreached_calls(self) -> list[dict]:
        """Calls to this employee that rang none of their devices ({id, at, caller}), newest first."""
        with self._lock:
            return list(self._state.get("unreached") or [])

    def caller_name(self, number: str) -> str | None:
        """The caller's name from the directory, the company book, then the personal contacts."""
        found = self.caller(number)
        return found["name"] if found else None

    def caller(self, number: str) -> dict | None:
        """Who has this number: {name, source ("directory", "company" or "personal"), note (an
        address-book entry's)}, from the directory, the company book, then the personal contacts."""
        try:
            dial = dialstring.normalise(dialstring.parse(number), self._region)
        except dialstring.InvalidTarget:
            return None
        st = self.snapshot()
        for person in st.get("directory") or []:
            if dial in (person.get("extension"), person.get("mobile")):
                return {"name": person["name"], "source": "directory", "note": ""}
        for book in ("company", "personal"):
            for contact in st.get(book) or []:
                if contact.get("number") == dial:
                    return {"name": contact["name"], "source": book, "note": contact.get("note") or ""}
        return None

    # --- the session -----------------------------------------------------------------------
    def _refresh_key(self) -> str:
        return refresh_token_key(self.base_url)

    def store_session(self, session: dict) -> None:
        """Keep a new session: the refresh token in the secret store, the access token in memory."""
        self._store.set(self._refresh_key(), session["refresh_token"])
        self._access = session["access_token"]
        self._access_expires = time.monotonic() + 0.8 * session["expires_in"]

    async def _ensure_session(self) -> None:
        if self._access is not None and time.monotonic() < self._access_expires:
            return
        async with self._refreshing:
            # One refresh at a time: the refresh token is used up by the first, so a second
            # one racing it with the same token would be refused and log the user out.
            if self._access is None or time.monotonic() >= self._access_expires:
                await self._refresh_session()

    async def _refresh_session(self) -> None:
        refresh = self._store.get(self._refresh_key())
        if not refresh:
            raise PbxRequestFailed("pbx_refused", tr("pbx.logged_out"))
        r = await self._http.request("POST", API_PREFIX + "/auth/refresh", json={"refresh_token": refresh})
        if r.status_code == 401:
            self._store.delete(self._refresh_key())
            raise PbxRequestFailed("pbx_refused", tr("pbx.logged_out"))
        if r.status_code != 200:
            raise PbxRequestFailed(_code_for(r.status_code), _message(r))
        session = r.json()
        self.store_session(session)
        if session.get("sip"):
            self._on_sip(session["sip"])
        self._update(me=session["employee"])

    async def _request(self, method: str, path: str, *, retry: bool = True, **kwargs) -> Response:
        await self._ensure_session()
        extra = kwargs.pop("headers", {})
        headers = {"Authorization": f"Bearer {self._access}", **extra}
        try:
            r = await self._http.request(method, API_PREFIX + path, headers=headers, **kwargs)
        except NoAnswer:
            # Sent on a kept-alive connection the server closed as the request crossed it.
            if not _safe_to_repeat(method, headers):
                raise
            log.info("the PBX closed the connection under %s %s: sending it again", method, path)
            r = await self._http.request(method, API_PREFIX + path, headers=headers, **kwargs)
        if r.status_code == 401 and retry:
            if self._access == headers["Authorization"][7:]:
                # Expired early (a rotated password, a restarted PBX): refresh once. A token
                # another request has refreshed meanwhile is already the one to retry with.
                self._access = None
            return await self._request(method, path, retry=False, headers=extra, **kwargs)
        return r

    async def _get(self, path: str):
        r = await self._request("GET", path)
        if r.status_code != 200:
            raise PbxRequestFailed(_code_for(r.status_code), _message(r))
        return r.json()

    # --- keeping the copy current ----------------------------------------------------------
    async def _fetch(self, *what: str) -> None:
        me = self.snapshot().get("me")
        values = {}
        if "me" in what or me is None:
            me = values["me"] = await self._get("/me")
        if "scheme" in what:
            values["scheme"] = await self._get(f"/employees/{me['id']}/scheme")
        if "numbers" in what:
            numbers = await self._get("/numbers")
            values["numbers"], values["buy_numbers_url"] = numbers["numbers"], numbers["buy_numbers_url"]
        if "directory" in what:
            values["directory"] = await self._get("/directory")
        if "company" in what:
            values["company"] = await self._get("/contacts/company")
        if "personal" in what:
            values["personal"] = await self._get("/contacts/personal")
        if "unreached" in what:
            values["unreached"] = (await self._get("/me/unreached-calls"))["calls"]
        self._update(**values)
        self._save_cache()

    _RESOURCES = {"employee": ("me", "directory"), "scheme": ("scheme",), "numbers": ("numbers", "me"),
                  "contacts.company": ("company",), "contacts.personal": ("personal",),
                  "settings": ("numbers",), "unreached_calls": ("unreached",)}

    def start(self) -> None:
        """Start on the running loop (call from the loop's thread)."""
        self._http = HttpClient(self.base_url)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._ensure_session()
                async with self._http.websocket(API_PREFIX + "/events", {"Authorization": f"Bearer {self._access}"}) as ws:
                    # Subscribed first, then the full fetch: nothing changed in between is missed.
                    await self._fetch("me", "scheme", "numbers", "directory", "company", "personal", "unreached")
                    self._update(stale=False, reason=None)
                    delay = 1.0
                    async for raw in ws:
                        event = json.loads(raw)
                        if event.get("type") == "changed":
                            await self._fetch(*self._RESOURCES.get(event.get("resource"), ()))
            except asyncio.CancelledError:
                raise
            except PbxRequestFailed as e:
                self._update(stale=True, reason=str(e))
                if e.code == "pbx_refused":
                    return  # logged out: only a new login helps
            except (TransportError, OSError, ValueError, KeyError) as e:
                if _session_ended(e):
                    # Logged out elsewhere, a new password, or just this token: the refresh
                    # after the pause tells which (a refused one ends the loop above).
                    self._access = None
                    log.info("PBX %s ended the session's event stream", self.base_url)
                    self._update(stale=True, reason=tr("pbx.connecting", url=self.base_url))
                else:
                    if isinstance(e, HandshakeRefused) and e.status_code in (401, 403):
                        self._access = None  # the event stream refused the token: refresh it first
                    log.info("PBX %s unreachable: %s", self.base_url, e)
                    self._update(stale=True, reason=tr("pbx.unreachable", url=self.base_url, detail=_why(e)))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    # --- changes from the menu and the popup ------------------------------------------------
    def _editable(self) -> dict:
        st = self.snapshot()
        if st.get("stale") or not st.get("me"):
            raise PbxRequestFailed("pbx_unavailable", st.get("reason") or tr("pbx.not_logged_in"))
        return st

    async def _write(self, method: str, path: str, version: int, body: dict, refetch: tuple[str, ...]) -> None:
        try:
            r = await self._request(method, path, json=body, headers={"If-Match": f'"{version}"'})
        except (TransportError, OSError) as e:
            raise PbxRequestFailed("pbx_unavailable", tr("pbx.unreachable_now", url=self.base_url,
                                                         detail=_why(e))) from None
        if r.status_code not in (200, 201, 204):
            # Whatever happened, show what the PBX has now: the menu must never lie.
            await self._fetch(*refetch)
            raise PbxRequestFailed(_code_for(r.status_code), _message(r))
        await self._fetch(*refetch)

    async def set_receive_mode(self, mode: str) -> None:
        st = self._editable()
        await self._write("PATCH", f"/employees/{st['me']['id']}/scheme", st["scheme"]["version"],
                          {"mode": mode}, ("scheme",))

    async def set_device_active(self, device_id: str, active: bool) -> None:
        """Switch a device of the scheme on or off. Switching off the last active one leaves
        callers nobody to reach (they hear 480): the first request only warns ("confirm_needed"),
        and the same request again within CONFIRM_S does it."""
        st = self._editable()
        devices = {d["id"]: d for d in st["scheme"]["devices"]}
        if device_id not in devices:
            raise PbxRequestFailed("pbx_refused", tr("pbx.no_device", device=device_id))
        others_on = [d for d in devices.values() if d["active"] and d["id"] != device_id]
        if not active and devices[device_id]["active"] and not others_on:
            asked = self._confirming.get(device_id)
            if asked is None or time.monotonic() - asked > CONFIRM_S:
                self._confirming[device_id] = time.monotonic()
                raise PbxRequestFailed("confirm_needed", tr("tray.nobody_would_ring",
                                                            device=_device_label(devices[device_id]),
                                                            seconds=round(CONFIRM_S)))
        self._confirming.pop(device_id, None)
        await self._write("PATCH", f"/employees/{st['me']['id']}/scheme/devices/{device_id}",
                          st["scheme"]["version"], {"active": active}, ("scheme",))

    async def raw(self, method: str, path: str, body, if_match: str | None) -> dict:
        """One API request for the app's windows, with this session: the PBX's answer as it is."""
        headers = {"If-Match": if_match} if if_match else {}
        try:
            r = await self._request(method, path, json=body, headers=headers)
        except (TransportError, OSError) as e:
            raise PbxRequestFailed("pbx_unavailable", tr("pbx.unreachable", url=self.base_url, detail=_why(e))) from None
        try:
            payload = r.json() if r.content else None
        except ValueError:
            payload = None
        if r.status_code < 400 and method != "GET":
            # A window changed something: the menu and the popup show it without waiting for
            # the event stream to come round.
            await self._fetch("me", "scheme", "numbers")
        return {"status": r.status_code, "etag": r.header("ETag"), "body": payload}

    async def logout(self) -> None:
        """End the session at the PBX (best effort: offline, it simply expires) and forget it."""
        refresh = self._store.get(self._refresh_key())
        try:
            if self._access is not None:
                await self._http.request("POST", API_PREFIX + "/auth/logout", json={"refresh_token": refresh},
                                         headers={"Authorization": f"Bearer {self._access}"})
        except (TransportError, OSError) as e:
            log.info("logout: the PBX was not told (%s)", e)
        self._store.delete(self._refresh_key())
        self._access = None
        try:
            self._cache_path.unlink()
        except OSError:
            pass

    async def set_do_not_disturb(self, minutes: int) -> None:
        """Nothing rings for `minutes` (0: ringing again now); the PBX ends it by itself."""
        st = self._editable()
        await self._write("PUT", "/me/do-not-disturb", (st.get("scheme") or {}).get("version", 0),
                          {"minutes": minutes}, ("scheme",))

    async def set_outgoing_number(self, number_id: int | None) -> None:
        st = self._editable()
        await self._write("PUT", "/me/outgoing-number", st["me"]["version"], {"number_id": number_id}, ("me",))


def _session_ended(e: Exception) -> bool:
    """The PBX closed the event stream because the session ended (pbx/api/events.py's
    CLOSE_SESSION_ENDED), not because of the network."""
    return isinstance(e, StreamClosed) and e.code == STREAM_SESSION_ENDED


def quiet_until(scheme: dict) -> str | None:
    """The end of the scheme's do-not-disturb while it holds (ISO 8601), else None: once its
    moment has passed the PBX rings again by itself, and so the app says."""
    text = scheme.get("do_not_disturb_until")
    if not text:
        return None
    try:
        until = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return text if until > dt.datetime.now(dt.UTC) else None


def _device_label(device: dict) -> str:
    if device["kind"] == "sip":
        return tr("pbx.device_sip", address=device["address"])
    return tr("pbx.device_external", address=device["address"])
