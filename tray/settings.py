"""The app's settings file and the secrets kept beside it (through tray/secret_store.py).

settings.json holds nothing secret. Writes are atomic (temp file + rename), so a crash or a bad
value never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common import locations
from common.dialstring import DEFAULT_REGION
from common.i18n import tr

SETTINGS_FILE = "settings.json"
_SERVER_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")
_USER_RE = re.compile(r"^[A-Za-z0-9._+*#-]{1,64}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
AUDIO_ROLES = ("microphone", "speaker", "ringer")
# Switches of the sound path (tray/sip/sound.py), with their defaults.
AUDIO_OPTIONS = {"ring_silently": False, "echo_cancellation": True}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class AccountSettings:
    username: str
    domain: str
    server: str           # host[:port] of the PBX's SIP proxy
    display_name: str = ""

    @property
    def aor(self) -> str:
        return f"{self.username}@{self.domain}"

    def validate(self) -> None:
        if not _USER_RE.match(self.username):
            raise SettingsError(tr("settings.bad_user", value=self.username))
        if not _SERVER_RE.match(self.domain) or ":" in self.domain.strip("[]"):
            raise SettingsError(tr("settings.bad_domain", value=self.domain))
        if not _SERVER_RE.match(self.server):
            raise SettingsError(tr("settings.bad_server", value=self.server))
        if len(self.display_name) > 64 or any(c in self.display_name for c in '"\\\r\n'):
            raise SettingsError(tr("settings.bad_display_name"))


@dataclass(frozen=True)
class Settings:
    account: AccountSettings | None = None
    region: str = DEFAULT_REGION
    # Names the PBX publishes for dialing (`talker --callto=echo`): name → extension.
    names: dict[str, str] = field(default_factory=dict)
    # A Talker PBX to log in to (its API); None: a plain SIP account, PBX features unavailable.
    pbx_url: str | None = None
    pbx_login: str | None = None
    # Sound devices by name (tray/audio_devices.py); None: the OS default.
    microphone: str | None = None
    speaker: str | None = None
    ringer: str | None = None
    # Incoming calls show but make no sound; echo cancellation and noise suppression on the
    # microphone (on: laptops' own speakers and microphones are the common case).
    ring_silently: bool = AUDIO_OPTIONS["ring_silently"]
    echo_cancellation: bool = AUDIO_OPTIONS["echo_cancellation"]

    def validate(self) -> None:
        if self.account is not None:
            self.account.validate()
        for role in AUDIO_ROLES:
            name = getattr(self, role)
            if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 256
                                     or any(ord(c) < 32 or ord(c) == 127 for c in name)):
                raise SettingsError(tr("settings.bad_device", value=name))
        for option in AUDIO_OPTIONS:
            if not isinstance(getattr(self, option), bool):
                raise SettingsError(tr("settings.bad_switch", option=option))
        if not re.fullmatch(r"[A-Z]{2}", self.region):
            raise SettingsError(tr("settings.bad_region", value=self.region))
        for name, number in self.names.items():
            if not _NAME_RE.match(name) or not number.isdigit():
                raise SettingsError(tr("settings.bad_name", name=name, number=number))
        if self.pbx_url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", self.pbx_url):
            raise SettingsError(tr("settings.bad_pbx_url", value=self.pbx_url))


def normalise_pbx_url(text: str) -> str:
    """What a user typed as the PBX's address (the login window, `talker --login --pbx`), as a
    URL: https:// unless it says otherwise (plain http only for a PBX on this machine, where
    nothing travels on a network)."""
    text = (text or "").strip().rstrip("/")
    if not text or re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
        return text
    host = re.split(r"[:/]", text, maxsplit=1)[0].lower()
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return ("http://" if loopback else "https://") + text


def settings_path() -> Path:
    return locations.config_dir() / SETTINGS_FILE


def load() -> Settings:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        raise SettingsError(tr("settings.unreadable", path=settings_path())) from None
    try:
        account = data.get("account")
        settings = Settings(
            account=AccountSettings(**account) if account else None,
            region=data.get("region", DEFAULT_REGION),
            names=dict(data.get("names", {})),
            pbx_url=data.get("pbx_url"),
            pbx_login=data.get("pbx_login"),
            **{role: data.get(role) for role in AUDIO_ROLES},
            **{option: data.get(option, default) for option, default in AUDIO_OPTIONS.items()},
        )
    except TypeError:
        raise SettingsError(tr("settings.unreadable", path=settings_path())) from None
    settings.validate()
    return settings


def save(settings: Settings) -> None:
    settings.validate()  # nothing invalid is ever written
    path = settings_path()
    locations.ensure_private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(settings), f, indent=2, ensure_ascii=False)
        f.write("\n")
    tmp.replace(path)
