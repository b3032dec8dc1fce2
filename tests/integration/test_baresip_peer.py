"""Talker's engine against a phone that is not Talker's engine: baresip (tests/support/baresip.py).

baresip answers with several codecs, so pjsua's codec lock re-offers one in a re-INVITE right
after the call connects (docs/platform-notes.md), and it holds and resumes from its side with re-INVITEs
of its own (a=sendonly, then a=sendrecv). The Talker side is the pjsua2 test agent
(tray/sip/agent.py on tray/sip/engine.py), which must re-wire its audio after each of them.
Each side speaks its own tone; what each one heard is cut into wall-clock windows."""

from __future__ import annotations

import array
import time
from pathlib import Path

import pytest

from tests.support.audio import goertzel_power, read_wav
from tests.support.baresip import SPEAKER_RATE, Baresip, missing, sdp_codecs, sdp_direction
from tests.support.pbx import TestPbx

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(missing() is not None, reason=f"baresip peer: {missing()}")]

TALKER_TONE, BARESIP_TONE = 1000.0, 1600.0   # the `tones` fixture's "app" and "peer"
NOISE = (400.0, 700.0, 2200.0)
# Around every change of the call, what is heard is left out of the windows: a re-INVITE takes a
# few milliseconds on loopback, jitter buffers and the recorders' blocks add some more.
MARGIN_S = 0.6


@pytest.fixture
def baresips(tmp_path: Path):
    """Start baresip phones on the PBX: `baresips(pbx, "103", "Vera Sokolova", play=...)`."""
    started: list[Baresip] = []

    def start(pbx: TestPbx, extension: str, name: str = "", *, play: Path | None = None,
              answer: str = "manual") -> Baresip:
        creds = pbx.add_employee(extension, name or f"Baresip {extension}")
        phone = Baresip(pbx, extension, creds.password, workdir=tmp_path, play=play, answer=answer)
        started.append(phone)
        phone.wait_registered()
        return phone

    try:
        yield start
    finally:
        for phone in started:
            phone.stop()


def _tone_in(samples, rate: int, freq: float) -> bool:
    """Whether `freq` stands out in `samples` (the criterion of test_call_audio.py)."""
    assert len(samples) > rate // 2, f"a window of {len(samples) / rate:.2f} s is too short to judge"
    power = goertzel_power(samples, rate, freq)
    return power > 1000.0 and power > 50 * max(goertzel_power(samples, rate, f) for f in NOISE)


class _TalkerEar:
    """The pjsua2 agent's recording of one call, read by wall-clock time: pjsua's conference
    bridge clocks it from the moment the call's media came up (its "connected" event)."""

    def __init__(self, path: Path, started_at: float):
        self.samples, self.rate = read_wav(path)
        self.started_at = started_at

    def between(self, t0: float, t1: float):
        start, end = (max(0, int((t - self.started_at) * self.rate)) for t in (t0, t1))
        window = self.samples[start:end]
        # Past the recording's end is silence: a recorder left on a port that pjsua removed
        # gets no more frames, and the file ends early.
        return window + array.array("h", bytes(2 * (end - start - len(window))))


def _windows(t0: float, t1: float, step: float = 1.0) -> list[tuple[float, float]]:
    """[t0, t1] cut into windows of about `step` seconds (the last one may be longer)."""
    n = max(1, int((t1 - t0) // step))
    return [(t0 + i * step, t1 if i == n - 1 else t0 + (i + 1) * step) for i in range(n)]


def _connected_call(kamailio, peers, baresips, tones):
    """Talker's agent (102) calls baresip (103), which answers: both sides connected."""
    talker = peers(kamailio, "102", "Boris Petrov", play=tones["app"])
    bare = baresips(kamailio, "103", "Vera Sokolova", play=tones["peer"])
    talker.command("call", number="103")
    bare.wait_call("incoming")
    bare.answer()
    connected = bare.wait_call("connected")
    talker_connected = talker.wait_call("connected")
    return talker, bare, min(connected["t"], talker_connected["t"])


def _received_invites(bare: Baresip) -> list:
    return [m for m in bare.sip_messages()
            if m.direction == "received" and m.first_line.startswith("INVITE") and m.body]


def _sdp_report(bare: Baresip) -> str:
    """Each offer/answer in the call as baresip saw it, for an assertion's message."""
    return "; ".join(f"{m.direction} {m.first_line.split(' SIP/')[0] if not m.is_response else m.status}"
                     f" {m.cseq_method}: {sdp_codecs(m.body)} {sdp_direction(m.body)}"
                     for m in bare.sip_messages() if m.body)


def test_baresip_answers_several_codecs_and_both_hear_each_other_for_the_whole_call(
        kamailio, peers, baresips, tones):
    talker, bare, t_connected = _connected_call(kamailio, peers, baresips, tones)
    time.sleep(6.0)
    t_hangup = time.time()
    talker.command("hangup")
    bare.wait_call("ended")
    talker.wait_call("ended")

    # The answer lists several codecs, and pjsua's codec lock re-offers one: the case this
    # peer is here for.
    answer = next(m for m in bare.sip_messages()
                  if m.direction == "sent" and m.status == 200 and m.cseq_method == "INVITE" and m.body)
    assert len(sdp_codecs(answer.body)) >= 2, f"baresip answered {sdp_codecs(answer.body)}"
    invites = _received_invites(bare)
    assert len(invites) >= 2 and len(sdp_codecs(invites[1].body)) == 1, (
        f"no codec-lock re-INVITE from pjsua: {_sdp_report(bare)}")

    [recording] = talker.recordings()
    talker_ear = _TalkerEar(recording, talker.calls("connected")[0]["t"])
    for t0, t1 in _windows(t_connected + MARGIN_S, t_hangup - 0.3):
        second = f"{t0 - t_connected:.1f}-{t1 - t_connected:.1f} s into the call"
        assert _tone_in(talker_ear.between(t0, t1), talker_ear.rate, BARESIP_TONE), (
            f"Talker's agent did not hear baresip {second}; SDP: {_sdp_report(bare)}")
        assert _tone_in(bare.heard(t0, t1), SPEAKER_RATE, TALKER_TONE), (
            f"baresip did not hear Talker's agent {second}; SDP: {_sdp_report(bare)}")


@pytest.mark.parametrize("holder", ["baresip", "talker"])
def test_hold_and_resume_silence_both_ways_then_audio_comes_back(kamailio, peers, baresips, tones, holder):
    talker, bare, t_connected = _connected_call(kamailio, peers, baresips, tones)
    time.sleep(3.0)
    t_hold = time.time()
    if holder == "baresip":
        bare.hold()
    else:
        talker.command("hold")
    time.sleep(3.0)
    t_resume = time.time()
    if holder == "baresip":
        bare.resume()
    else:
        talker.command("resume")
    time.sleep(3.5)
    t_hangup = time.time()
    talker.command("hangup")
    bare.wait_call("ended")
    talker.wait_call("ended")

    [recording] = talker.recordings()
    talker_ear = _TalkerEar(recording, talker.calls("connected")[0]["t"])
    phases = {"before the hold": (t_connected + MARGIN_S, t_hold),
              "while held": (t_hold + MARGIN_S, t_resume),
              "after the resume": (t_resume + MARGIN_S, t_hangup - 0.3)}
    heard = {phase: (_tone_in(talker_ear.between(*span), talker_ear.rate, BARESIP_TONE),
                     _tone_in(bare.heard(*span), SPEAKER_RATE, TALKER_TONE))
             for phase, span in phases.items()}
    report = f"(Talker heard baresip, baresip heard Talker) {heard}; SDP: {_sdp_report(bare)}"
    assert heard["before the hold"] == (True, True), report
    assert heard["after the resume"] == (True, True), report
    assert heard["while held"] == (False, False), report
