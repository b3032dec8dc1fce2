"""The app's settings: validated before anything is written, written atomically, user-only."""

from __future__ import annotations

import stat

import pytest

from tray import settings
from tray.secret_store import open_store
from tray.settings import AccountSettings, Settings, SettingsError


def test_saved_settings_load_back_and_are_private():
    s = Settings(AccountSettings("101", "pbx.local", "127.0.0.1:5060", "Anna"), "RU", {"echo": "100"})
    settings.save(s)
    assert settings.load() == s
    assert stat.S_IMODE(settings.settings_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.settings_path().parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("bad", [
    Settings(AccountSettings("101", "pbx.local", "127.0.0.1:5060;transport=tcp")),
    Settings(AccountSettings("1 01", "pbx.local", "127.0.0.1:5060")),
    Settings(AccountSettings("101", "pbx.local", "host", 'Anna" <sip:evil@x>')),
    Settings(region="Russia"),
    Settings(names={"echo": "1OO"}),
    Settings(speaker=""),
    Settings(microphone="usb\nheadset"),
    Settings(ringer="x" * 257),
    Settings(ring_silently="yes"),
    Settings(echo_cancellation=0),
])
def test_invalid_settings_are_refused_and_the_old_file_stays(bad):
    good = Settings(AccountSettings("101", "pbx.local", "127.0.0.1:5060"))
    settings.save(good)
    before = settings.settings_path().read_bytes()
    with pytest.raises(SettingsError):
        settings.save(bad)
    assert settings.settings_path().read_bytes() == before


def test_a_corrupt_settings_file_is_a_clear_error():
    settings.settings_path().parent.mkdir(parents=True)
    settings.settings_path().write_text("{not json")
    with pytest.raises(SettingsError, match="cannot be read"):
        settings.load()


def test_the_fallback_secret_store_is_user_only_and_keeps_the_password_out_of_settings():
    store = open_store()  # TALKER_SECRET_BACKEND=file in tests
    store.set("sip:101@pbx.local", "s3cret")
    settings.save(Settings(AccountSettings("101", "pbx.local", "127.0.0.1:5060")))
    assert store.get("sip:101@pbx.local") == "s3cret"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert "s3cret" not in settings.settings_path().read_text()


def test_sound_devices_are_remembered_by_name_and_absent_means_the_os_default():
    s = Settings(microphone="alsa_input.usb-Jabra.mono-fallback", speaker="headset", ringer=None)
    settings.save(s)
    assert settings.load() == s
    # A file from before the choice existed: every role is the OS default.
    settings.settings_path().write_text('{"region": "RU"}')
    loaded = settings.load()
    assert (loaded.microphone, loaded.speaker, loaded.ringer) == (None, None, None)


def test_a_sound_device_that_is_not_a_name_is_a_clear_error():
    settings.settings_path().parent.mkdir(parents=True)
    settings.settings_path().write_text('{"speaker": 5}')
    with pytest.raises(SettingsError, match="not the name of a sound device"):
        settings.load()


def test_the_sound_switches_default_to_ringing_with_echo_cancellation_and_are_kept(tmp_path):
    path = settings.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"region": "RU"}')  # written before the switches existed
    old = settings.load()
    assert (old.ring_silently, old.echo_cancellation) == (False, True)
    settings.save(Settings(ring_silently=True, echo_cancellation=False))
    assert (settings.load().ring_silently, settings.load().echo_cancellation) == (True, False)
