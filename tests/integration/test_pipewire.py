"""The app's device path on PipeWire: PortAudio → ALSA's pulse plugin → pipewire-pulse (PipeWire's
PulseAudio protocol, with WirePlumber as its session manager; tests/support/sound.py,
PipeWireServer), the sound server most Linux desktops now run.

The calls are the PulseAudio tests themselves, not copies: they are imported here, and this
module's `sound_server` is a PipeWire server, so each flow asserts on PipeWire exactly what it
asserts on PulseAudio - both directions of a call's audio, the ringtone on the chosen ringer, a
speaker switch mid-call, an unplugged headset, a device plugged in mid-call (listed from
`pactl -f json`, monitors left out) and chosen.

Left out, because PipeWire 0.3.65 with WirePlumber 0.4.13 behaves otherwise (measured):
`pactl suspend-sink` silences a sink but its streams keep being called back, so the
stalled-speaker test has nothing to detect there; and pipewire-pulse keeps the backslashes of
a quoted module argument, so the quoted-description test cannot make its device.
"""

from __future__ import annotations

import pytest

from tests.integration.test_audio_device_choice import (  # noqa: F401 (collected here too)
    db_url,
    test_a_device_plugged_in_after_the_start_is_listed_and_carries_a_call,
    test_an_incoming_call_rings_on_the_chosen_ringer,
    test_an_unplugged_headset_gives_the_call_back_to_the_default_speaker,
    test_the_speaker_moves_to_the_headset_mid_call_and_the_call_stays_up,
)
from tests.integration.test_sound_devices import (  # noqa: F401 (collected here too)
    test_the_microphone_reaches_the_phone_and_the_phone_comes_out_of_the_speaker,
)

pytestmark = [pytest.mark.slow, pytest.mark.realtime]


@pytest.fixture
def sound_server(pipewire_server):
    return pipewire_server


def test_the_server_the_app_reaches_is_pipewire(pipewire_server):
    """Without this the flows above would prove nothing new: they must not meet PulseAudio."""
    assert "on PipeWire" in pipewire_server.pactl("info")
