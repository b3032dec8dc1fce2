"""The road the app's audio takes, proven without the app: a process given `sound_server.env`
reaches the test's PulseAudio through PortAudio (sounddevice) → ALSA → the pulse plugin, plays
to the speaker, hears the microphone, and picks a sink or source by name.

How a process picks a PulseAudio sink or source through PortAudio (measured here, PulseAudio
16.1, PortAudio 19.6, alsa-plugins 1.2.7):
- PortAudio lists ALSA PCMs, not PulseAudio sinks: with nothing else configured only `pulse`
  and `default` (both the server's default sink and source).
- An ALSA PCM `pcm.NAME { type pulse; device "SINK-OR-SOURCE" }` in a file that ALSA reads
  (a file added to ALSA_CONFIG_PATH, or ~/.asoundrc) is listed by PortAudio as device NAME
  and plays to / records from exactly that sink or source, one choice per stream: the ringer
  and the speaker play at the same time to different sinks. ALSA reads its files when PortAudio
  initialises; after the file changes, `sounddevice._terminate(); sounddevice._initialize()`
  lists the new devices (measured in the sandbox, not asserted here).
- PULSE_SINK / PULSE_SOURCE in the environment move `default` and `pulse` to that sink or
  source, for every stream of the process: no good for a ringer beside the speaker.
- A stream on `default` follows the server's default sink when it changes; a stream on a PCM
  naming its sink stays there. A sink that goes away (unplugged): PulseAudio moves its streams
  to the default sink, the callback goes on, nothing is raised (PortAudio may flag output
  underflows). Opening a PCM whose sink is gone raises PortAudioError ("Unanticipated host
  error", ALSA error -5) at once.

Tones: the speaker gets 1000 Hz, the microphone 1600 Hz, the ringer 1300 Hz, as in the call tests.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.audio import read_wav, tone_level_db, tone_onset
from tests.support.processes import VENV_BIN
from tests.support.sound import HEADSET, RINGER, SINKS, SPEAKER

pytestmark = pytest.mark.slow   # and `realtime` on each test that judges sound

ROOT = Path(__file__).resolve().parents[2]
SPEAKER_TONE, MIC_TONE, RING_TONE = 1000.0, 1600.0, 1300.0
HEARD_DB = -30.0    # the tones are played at about -11 dBFS
SILENT_DB = -60.0

# A child that plays and records through sounddevice as the app does (raw int16 callbacks: the
# app has no numpy), then prints what happened as JSON. argv[1]: {"play": [{device, freq}],
# "record": {device, path} or null, "seconds", "rate", "latency"}.
CHILD = r"""
import json, sys, time, wave
import sounddevice as sd
from tests.support.audio import sine

cfg = json.loads(sys.argv[1])
rate, seconds = cfg["rate"], cfg["seconds"]
report = {"devices": [d["name"] for d in sd.query_devices()], "streams": [], "errors": []}

def player(spec):
    state = {"frames": 0, "first": None, "last": None, "status": []}
    def callback(outdata, frames, t, status):
        now = time.monotonic()
        state["first"] = state["first"] or now
        state["last"] = now
        if status:
            state["status"].append(str(status))
        if state["frames"] < spec.get("silence_s", 0) * rate:
            outdata[:] = bytes(len(outdata))
        else:
            state["tone_at"] = state.get("tone_at") or now
            outdata[:] = sine(spec["freq"], frames, rate, 0.4, state["frames"]).tobytes()
        state["frames"] += frames
    stream = sd.RawOutputStream(samplerate=rate, channels=1, dtype="int16",
                                device=spec["device"], callback=callback, latency=cfg["latency"])
    return stream, state

captured = bytearray()
def recorder(spec):
    state = {"frames": 0, "status": []}
    def callback(indata, frames, t, status):
        if status:
            state["status"].append(str(status))
        captured.extend(bytes(indata))
        state["frames"] += frames
    stream = sd.RawInputStream(samplerate=rate, channels=1, dtype="int16",
                               device=spec["device"], callback=callback)
    return stream, state

streams = []
try:
    streams = [player(spec) for spec in cfg["play"]]
    if cfg["record"]:
        streams.append(recorder(cfg["record"]))
    for stream, state in streams:
        stream.start()
        state["latency"] = stream.latency
    print("started", flush=True)
    time.sleep(seconds)
    for stream, state in streams:
        state["active"] = stream.active
        stream.stop()
        stream.close()
        report["streams"].append(state)
except Exception as e:
    report["errors"].append(f"{type(e).__name__}: {e}")
if cfg["record"]:
    with wave.open(cfg["record"]["path"], "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(captured))
print(json.dumps(report))
"""


def _start(env: dict[str, str], *, play=(), record=None, seconds=1.5, rate=16000,
           latency: str | float = "high", silence_s: float = 0.0) -> subprocess.Popen:
    cfg = {"play": [{"device": d, "freq": f, "silence_s": silence_s} for d, f in play],
           "record": record,
           "seconds": seconds, "rate": rate, "latency": latency}
    return subprocess.Popen([str(VENV_BIN / "python"), "-c", CHILD, json.dumps(cfg)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _report(child: subprocess.Popen, timeout: float = 60) -> dict:
    try:
        out, err = child.communicate(timeout=timeout)
    finally:
        child.kill()
    assert child.returncode == 0, f"child failed: {err[-2000:]}"
    return json.loads(out.splitlines()[-1])


def _run(env: dict[str, str], **kwargs) -> dict:
    return _report(_start(env, **kwargs))


def _level(path: Path, freq: float, skip_s: float = 0.0) -> float:
    samples, rate = read_wav(path)
    return tone_level_db(samples[int(skip_s * rate):], rate, freq)


def _alsa_pcms(sound_server, tmp_path: Path, pcms: dict[str, str]) -> str:
    """ALSA_CONFIG_PATH with one `type pulse` PCM per name → sink or source."""
    conf = tmp_path / "pcms.conf"
    conf.write_text("".join(f'pcm.{name} {{ type pulse; device "{target}" }}\n'
                            for name, target in pcms.items()))
    return f"{sound_server.alsa_config_path}:{conf}"


def _recordings(sound_server, tmp_path: Path, sinks=SINKS) -> dict:
    return {sink: sound_server.record(sink, tmp_path / f"{sink}.wav") for sink in sinks}


def test_portaudio_lists_the_servers_devices(sound_server):
    report = _run(sound_server.child_env(), seconds=0)
    assert report["errors"] == []
    assert "default" in report["devices"]

    # Without the server's variables the child reaches nothing (this sandbox has no sound card).
    report = _run({k: v for k, v in sound_server.child_env().items()
                   if not k.startswith(("PULSE_", "ALSA_"))}, seconds=0)
    assert "default" not in report["devices"]


@pytest.mark.realtime
def test_a_tone_played_to_the_default_device_is_heard_on_the_speaker_only(
        sound_server, tmp_path: Path, capsys):
    recordings = _recordings(sound_server, tmp_path)
    report = _run(sound_server.child_env(), play=[(None, SPEAKER_TONE)], seconds=2.0,
                  silence_s=0.5)
    time.sleep(0.3)
    paths = {sink: r.stop() for sink, r in recordings.items()}

    # No errors; PortAudio may flag an output underflow or two while the stream starts.
    assert report["errors"] == []
    assert _level(paths[SPEAKER], SPEAKER_TONE) > HEARD_DB
    assert _level(paths[RINGER], SPEAKER_TONE) < SILENT_DB
    assert _level(paths[HEADSET], SPEAKER_TONE) < SILENT_DB

    # From the callback that hands PortAudio the tone's first samples (after 0.5 s of silence,
    # the stream running) to the tone's onset on the speaker's monitor: a figure for the
    # report, bounded only against a stuck stream. A null sink adds no device buffer of its own.
    samples, rate = read_wav(paths[SPEAKER])
    onset = recordings[SPEAKER].started_at + tone_onset(samples, rate, SPEAKER_TONE)
    latency = onset - report["streams"][0]["tone_at"]
    with capsys.disabled():
        print(f"\nPortAudio default output: tone written → onset on the sink's monitor "
              f"{latency * 1000:.0f} ms (stream.latency {report['streams'][0]['latency']:.3f} s)")
    assert -0.05 < latency < 1.5


@pytest.mark.realtime
def test_the_default_input_hears_the_microphone(sound_server, tmp_path: Path):
    sound_server.start_tone(MIC_TONE)
    path = tmp_path / "input.wav"
    report = _run(sound_server.child_env(), record={"device": None, "path": str(path)},
                  seconds=1.5)

    assert report["errors"] == [] and report["streams"][0]["status"] == []
    assert _level(path, MIC_TONE, skip_s=0.3) > HEARD_DB
    assert _level(path, SPEAKER_TONE, skip_s=0.3) < SILENT_DB


@pytest.mark.realtime
def test_an_alsa_pcm_per_sink_picks_the_sink_for_each_stream(sound_server, tmp_path: Path):
    """The ringer and the headset at the same time, each on its own sink, and an input stream
    from a named source (the headset's monitor, fed a tone of its own)."""
    env = sound_server.child_env(ALSA_CONFIG_PATH=_alsa_pcms(sound_server, tmp_path, {
        "talker_headset": HEADSET, "talker_ring": RINGER, "talker_hsmon": f"{HEADSET}.monitor"}))
    recordings = _recordings(sound_server, tmp_path)
    path = tmp_path / "input.wav"
    report = _run(env, play=[("talker_headset", SPEAKER_TONE), ("talker_ring", RING_TONE)],
                  record={"device": "talker_hsmon", "path": str(path)}, seconds=2.0)
    time.sleep(0.3)
    paths = {sink: r.stop() for sink, r in recordings.items()}

    assert report["errors"] == []
    assert {"talker_headset", "talker_ring", "talker_hsmon"} <= set(report["devices"])
    assert _level(paths[HEADSET], SPEAKER_TONE) > HEARD_DB
    assert _level(paths[HEADSET], RING_TONE) < SILENT_DB
    assert _level(paths[RINGER], RING_TONE) > HEARD_DB
    assert _level(paths[RINGER], SPEAKER_TONE) < SILENT_DB
    assert _level(paths[SPEAKER], SPEAKER_TONE) < SILENT_DB
    assert _level(paths[SPEAKER], RING_TONE) < SILENT_DB
    assert _level(path, SPEAKER_TONE, skip_s=0.5) > HEARD_DB


@pytest.mark.realtime
def test_pulse_sink_moves_every_default_stream_of_the_process(sound_server, tmp_path: Path):
    recordings = _recordings(sound_server, tmp_path, (SPEAKER, HEADSET))
    sound_server.start_tone(MIC_TONE, sink=HEADSET)
    path = tmp_path / "input.wav"
    report = _run(sound_server.child_env(PULSE_SINK=HEADSET, PULSE_SOURCE=f"{HEADSET}.monitor"),
                  play=[(None, SPEAKER_TONE)], record={"device": None, "path": str(path)},
                  seconds=1.5)
    time.sleep(0.3)
    paths = {sink: r.stop() for sink, r in recordings.items()}

    assert report["errors"] == []
    assert _level(paths[HEADSET], SPEAKER_TONE) > HEARD_DB
    assert _level(paths[SPEAKER], SPEAKER_TONE) < SILENT_DB
    # The default input follows PULSE_SOURCE: the headset's monitor, not the microphone.
    assert _level(path, MIC_TONE, skip_s=0.5) > HEARD_DB


def _tone_at(path: Path, freq: float, start_s: float, end_s: float) -> float:
    samples, rate = read_wav(path)
    return tone_level_db(samples[int(start_s * rate):int(end_s * rate)], rate, freq)


@pytest.mark.realtime
def test_unplugging_the_sink_under_a_stream_moves_it_to_the_default(sound_server, tmp_path: Path):
    """PulseAudio itself moves a stream whose sink goes away to the default sink: the callback
    goes on, nothing is raised, and the tone goes on on the speaker. Only opening the
    unplugged sink's PCM again fails, at once."""
    env = sound_server.child_env(ALSA_CONFIG_PATH=_alsa_pcms(sound_server, tmp_path,
                                                              {"talker_headset": HEADSET}))
    recordings = _recordings(sound_server, tmp_path, (SPEAKER, HEADSET))
    child = _start(env, play=[("talker_headset", SPEAKER_TONE)], seconds=3.0)
    # Unplugged only once the stream is open: on a busy machine the child may take longer
    # than any fixed pause to start, and opening an unplugged sink fails (asserted below).
    assert child.stdout.readline().strip() == "started", "the child's stream did not start"
    time.sleep(1.0)
    sound_server.unplug(HEADSET)
    unplugged_at = time.monotonic()
    report = _report(child)
    time.sleep(0.3)
    speaker = recordings[SPEAKER]
    before = unplugged_at - speaker.started_at
    paths = {sink: r.stop() for sink, r in recordings.items()}

    assert report["errors"] == []
    state = report["streams"][0]
    assert state["active"] is True
    assert state["last"] > unplugged_at + 1.0, "the callback stopped when the sink went away"
    assert _tone_at(paths[SPEAKER], SPEAKER_TONE, 0, before - 0.5) < SILENT_DB
    assert _tone_at(paths[SPEAKER], SPEAKER_TONE, before + 0.3, before + 1.2) > HEARD_DB
    assert _level(paths[HEADSET], SPEAKER_TONE, skip_s=0.5) > HEARD_DB

    report = _run(env, play=[("talker_headset", SPEAKER_TONE)], seconds=0.5)
    assert any("PortAudioError" in e for e in report["errors"]), report["errors"]


@pytest.mark.realtime
def test_default_follows_the_os_default_a_named_pcm_stays(sound_server, tmp_path: Path):
    """A user who changes the system's default output mid-call: a stream on ALSA's `default`
    moves with it, one on a PCM naming the sink stays where the app put it."""
    env = sound_server.child_env(ALSA_CONFIG_PATH=_alsa_pcms(sound_server, tmp_path,
                                                              {"talker_headset": HEADSET}))
    recordings = _recordings(sound_server, tmp_path)
    child = _start(env, play=[(None, SPEAKER_TONE), ("talker_headset", RING_TONE)], seconds=2.5)
    time.sleep(1.2)
    sound_server.set_default_sink(RINGER)
    changed = time.monotonic() - recordings[SPEAKER].started_at
    report = _report(child)
    time.sleep(0.3)
    paths = {sink: r.stop() for sink, r in recordings.items()}

    assert report["errors"] == []
    assert _tone_at(paths[SPEAKER], SPEAKER_TONE, changed - 0.6, changed - 0.1) > HEARD_DB
    assert _tone_at(paths[SPEAKER], SPEAKER_TONE, changed + 0.3, changed + 0.8) < SILENT_DB
    assert _tone_at(paths[RINGER], SPEAKER_TONE, changed + 0.3, changed + 0.8) > HEARD_DB
    assert _tone_at(paths[HEADSET], RING_TONE, changed + 0.3, changed + 0.8) > HEARD_DB
    assert _tone_at(paths[RINGER], RING_TONE, changed + 0.3, changed + 0.8) < SILENT_DB
