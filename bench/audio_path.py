"""Benchmark: what the path to the OS's sound devices costs a call — latency each way, CPU, and
underruns/overruns — the app on its real device path (PortAudio → ALSA → a real PulseAudio
server, tests/support/sound.py) against the same app on pjsua2's null device with a file player.

Figures, never a pass/fail. The far end is a real pjsua2 phone (tests/support/peer.py) that plays
a WAV (LEAD_S of silence, then a 1600 Hz tone) and records what it receives; Kamailio is real.

    .venv/bin/python bench/audio_path.py [--calls 20] [--seconds 30] [--long-call 60]

How the latency is lined up (every clock is this machine's; wall times are turned into
time.monotonic() with one offset taken in this process):
- The microphone tone's onset M and the speaker's onset S are measured on the PulseAudio
  monitors of the microphone feed and the speaker sink; Recording.started_at puts the first
  sample of each on the monotonic clock.
- The phone's player and recorder are connected in the same engine call when its media comes
  up, so both start on the same tick of its conference bridge, at P: its tone starts at
  P + LEAD_S and what it hears at r seconds into its recording arrived at P + r. So
    up   = P + r - M          (microphone → phone)
    down = S - P - LEAD_S     (phone → speaker)
  and their sum, r + S - M - LEAD_S, needs no P at all: it is exact. P itself is estimated from
  the phone's own wall-clock stamp of its reply to "answer" (pjsua wires the media inside the
  answer, 200 OK sent) plus half a 20 ms bridge tick, the mean wait for the tick that starts
  both ports: each way is then off by up to ±10 ms in a single call (in opposite directions,
  so the sum stays exact), which medians over many calls average out.
- On the null device the app's own player and recorder also start together (at A), with the
  same LEAD_S of silence before its tone, so up0 + down0 = r0 + d0 - 2 LEAD_S is exact too.
  The null path is the same software on both sides with random tick phases, so each way
  carries half of that sum (in distribution); that half is the baseline for each direction.

CPU: utime + stime of the app's process (/proc/PID/stat, all its threads) over --seconds of a
call with audio both ways, as % of one core. Underruns/overruns: the app's FrameBuffer counters
from the line it logs when it closes the devices ("sound: closed; …"; an underrun counts once
however long the silence lasts), and the tones themselves: 20 ms windows where one drops
20 dB below its median, on the speaker's monitor and in the phone's recording, next to the
same count on the microphone feed (the test's own gaps) and on the null device.
"""

from __future__ import annotations

import argparse
import array
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import cpu_s, isolate, pct, precompile  # noqa: E402
from tests.support.app import App, configure_account  # noqa: E402
from tests.support.audio import read_wav, sine, tone_level_db, tone_onset, write_wav  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.peer import Peer  # noqa: E402
from tests.support.sound import MIC_SINK, SPEAKER, SoundServer  # noqa: E402

# Whole periods in 5 and 20 ms windows at 8 and 16 kHz. Not 1000 Hz: a steady 1000 Hz (or 1400 Hz)
# tone is cut to bursts about a second into a call in either direction, on pjsua2's null device
# too (measured: the call's silence detection takes it for noise), while 1200 and 1600 Hz pass a
# whole minute; speech is no steady tone, and the gap count is about the device path.
MIC_TONE, PEER_TONE = 1200.0, 1600.0
LEAD_S = 1.0            # silence at the start of the phone's (and the null app's) WAV
MIC_AT_S = 0.5          # the microphone tone starts this long after the answer
TAIL_S = 1.0            # the call goes on this long after the phone's tone started
HALF_TICK_S = 0.010     # mean wait for the conference bridge's next 20 ms tick
REC_RATE = 16000
ONSET = dict(threshold_db=-30.0, window_s=0.005, hold_s=0.05)
GAP_DROP_DB = 20.0      # a 20 ms window this far below the tone's median level is a gap


def tone_wav(path: Path, freq_hz: float, tone_s: float, rate: int = 16000) -> Path:
    samples = array.array("h", bytes(int(LEAD_S * rate) * 2))
    samples.extend(sine(freq_hz, int(tone_s * rate), rate))
    return write_wav(path, samples, rate)


def mono_offset() -> float:
    """time.time() - time.monotonic() now: turns the phone's wall-clock stamps monotonic."""
    return time.time() - time.monotonic()


def new_recording(folder: Path, before: set[Path], timeout: float = 10.0):
    """The call's recording once its writer has closed it (pjmedia fills the header in then)."""
    deadline = time.monotonic() + timeout
    while True:
        fresh = set(folder.glob("*.wav")) - before
        if fresh:
            samples, rate = read_wav(fresh.pop())
            if samples:
                return samples, rate
        if time.monotonic() > deadline:
            raise SystemExit(f"no recording appeared in {folder}")
        time.sleep(0.1)


def onset(samples, rate: int, freq: float, what: str) -> float:
    found = tone_onset(samples, rate, freq, **ONSET)
    if found is None:
        raise SystemExit(f"no {freq:g} Hz tone in {what}")
    return found


def gaps(samples, rate: int, freq: float, start_s: float, end_s: float) -> tuple[int, int]:
    """(20 ms windows where the tone drops GAP_DROP_DB below its median, windows looked at)."""
    size = rate // 50
    levels = [tone_level_db(samples[i:i + size], rate, freq)
              for i in range(int(start_s * rate), int(end_s * rate) - size + 1, size)]
    if not levels:
        return 0, 0
    floor = statistics.median(levels) - GAP_DROP_DB
    return sum(1 for level in levels if level < floor), len(levels)


class Bench:
    def __init__(self, tmp: Path, args: argparse.Namespace):
        self.tmp, self.args = tmp, args
        self.sound = SoundServer(log_path=tmp / "pulseaudio.log").start()
        self.pbx = TestPbx(tmp / "pbx").start()
        tone_s = max(args.seconds, args.long_call) + 10   # the player loops: never reach the end
        peer_wav = tone_wav(tmp / "peer.wav", PEER_TONE, tone_s)
        self.app_wav = tone_wav(tmp / "app.wav", MIC_TONE, tone_s)
        creds = self.pbx.add_employee("102", "Boris Petrov")
        self.peer = Peer(self.pbx, "102", creds.password, workdir=tmp, play=peer_wav)
        self.peer.wait_registered()
        me = self.pbx.add_employee("101", "Anna Ivanova")
        configure_account(self.pbx, "101", me.password)
        self.app: App | None = None

    def start_app(self, name: str, env: dict[str, str]) -> App:
        workdir = self.tmp / name
        workdir.mkdir()
        self.app = App(workdir, extra_env=env)
        self.app.wait_registered()
        return self.app

    def stop_app(self) -> None:
        if self.app is not None:
            self.app.quit()
            self.app = None

    def close(self) -> None:
        self.stop_app()
        self.peer.stop()
        self.pbx.stop()
        self.sound.stop()

    # --- one call -----------------------------------------------------------------------
    def connect(self) -> tuple[int, float]:
        """The app calls the phone, the phone answers: (event mark, P on the monotonic clock)."""
        mark = self.peer.mark()
        with self.app.client() as c:
            c.request("call", target="102")
        self.peer.wait_call("incoming", after=mark)
        answered = self.peer.command("answer")
        if not answered.get("ok"):
            raise SystemExit(f"the phone could not answer: {answered}")
        self.peer.wait_call("connected", after=mark)
        return mark, answered["t"] - mono_offset() + HALF_TICK_S

    def hang_up(self, mark: int) -> float:
        with self.app.client() as c:
            c.request("hangup")
        ended = self.peer.wait_call("ended", after=mark)
        return ended["t"] - mono_offset()

    def sleep_until(self, t: float) -> None:
        time.sleep(max(0.0, t - time.monotonic()))

    def device_latency(self, n: int) -> dict[str, float]:
        before = set(self.peer.record_dir.glob("*.wav"))
        mic = self.sound.record(MIC_SINK, self.tmp / f"mic-{n}.wav", REC_RATE)
        spk = self.sound.record(SPEAKER, self.tmp / f"spk-{n}.wav", REC_RATE)
        mark, p = self.connect()
        self.sleep_until(p + MIC_AT_S)
        tone = self.sound.start_tone(MIC_TONE)
        self.sleep_until(p + LEAD_S + TAIL_S)
        ended = self.hang_up(mark)
        tone.stop()
        mic.stop()
        spk.stop()
        heard, rate = new_recording(self.peer.record_dir, before)
        mic_samples, _ = read_wav(mic.path)
        spk_samples, _ = read_wav(spk.path)
        m = mic.started_at + onset(mic_samples, REC_RATE, MIC_TONE, "the microphone feed")
        s = spk.started_at + onset(spk_samples, REC_RATE, PEER_TONE, "the speaker's monitor")
        r = onset(heard, rate, MIC_TONE, "the phone's recording")
        return {"up": p + r - m, "down": s - p - LEAD_S, "sum": r + s - m - LEAD_S,
                # P checked from the other end: the recording should last from P to the end.
                "p_check": (ended - p) - len(heard) / rate}

    def null_latency(self) -> dict[str, float]:
        peer_before = set(self.peer.record_dir.glob("*.wav"))
        app_before = set(self.app.record_dir.glob("*.wav"))
        mark, p = self.connect()
        self.sleep_until(p + LEAD_S + TAIL_S)
        self.hang_up(mark)
        heard, rate = new_recording(self.peer.record_dir, peer_before)
        app_heard, app_rate = new_recording(self.app.record_dir, app_before)
        r0 = onset(heard, rate, MIC_TONE, "the phone's recording")
        d0 = onset(app_heard, app_rate, PEER_TONE, "the app's recording")
        both = r0 + d0 - 2 * LEAD_S
        return {"up": both / 2, "down": both / 2, "sum": both}

    def cpu_call(self, seconds: float, long_s: float = 0.0) -> dict[str, float]:
        """A call with audio both ways: the app's (and PulseAudio's) CPU over `seconds` after a
        2 s settling time; with `long_s`, the call lasts that long and the tones are checked for
        gaps on the speaker's monitor and in the phone's recording."""
        device = long_s > 0
        before = set(self.peer.record_dir.glob("*.wav"))
        app_before = set(self.app.record_dir.glob("*.wav"))
        spk = self.sound.record(SPEAKER, self.tmp / "spk-long.wav", 8000) if device else None
        # What went into the microphone: a gap there is the test feed's, not the app's.
        feed = self.sound.record(MIC_SINK, self.tmp / "mic-long.wav", 8000) if device else None
        tone = self.sound.start_tone(MIC_TONE) if device else None
        mark, p = self.connect()
        self.sleep_until(p + LEAD_S + 1.0)
        pid, pa = self.app.proc.pid, self.sound.proc.pid
        t0, cpu0, pa0 = time.monotonic(), cpu_s(pid), cpu_s(pa)
        time.sleep(seconds)
        t1, cpu1, pa1 = time.monotonic(), cpu_s(pid), cpu_s(pa)
        result = {"app": 100 * (cpu1 - cpu0) / (t1 - t0), "pulse": 100 * (pa1 - pa0) / (t1 - t0)}
        if not device:
            self.hang_up(mark)
            heard, rate = new_recording(self.peer.record_dir, before)
            up_on = onset(heard, rate, MIC_TONE, "the phone's recording")
            result["up_gaps"], result["up_windows"] = gaps(heard, rate, MIC_TONE, up_on + 0.5,
                                                           len(heard) / rate - 0.3)
            heard, rate = new_recording(self.app.record_dir, app_before)
            down_on = onset(heard, rate, PEER_TONE, "the app's recording")
            result["down_gaps"], result["down_windows"] = gaps(heard, rate, PEER_TONE, down_on + 0.5,
                                                               len(heard) / rate - 0.3)
            return result
        self.sleep_until(p + max(long_s, LEAD_S + 1.0 + seconds))
        hangup_at = time.monotonic()
        self.hang_up(mark)
        tone.stop()
        spk.stop()
        feed.stop()
        samples, rate = read_wav(feed.path)
        feed_on = onset(samples, rate, MIC_TONE, "the microphone feed")
        result["feed_gaps"], result["feed_windows"] = gaps(
            samples, rate, MIC_TONE, feed_on + 0.5, hangup_at - feed.started_at - 0.3)
        samples, rate = read_wav(spk.path)
        start = spk.started_at
        down_on = onset(samples, rate, PEER_TONE, "the speaker's monitor")
        result["down_gaps"], result["down_windows"] = gaps(
            samples, rate, PEER_TONE, down_on + 0.5, hangup_at - start - 0.3)
        heard, rate = new_recording(self.peer.record_dir, before)
        up_on = onset(heard, rate, MIC_TONE, "the phone's recording")
        result["up_gaps"], result["up_windows"] = gaps(heard, rate, MIC_TONE, up_on + 0.5,
                                                       len(heard) / rate - 0.3)
        result["call_s"] = hangup_at - p
        return result


def sound_counters() -> str | None:
    """The app's FrameBuffer counters of its last call: the line tray/sip/sound.py logs when it
    closes the devices ("sound: closed; microphone … underruns … overruns, speaker …")."""
    from common import locations

    lines: list[str] = []
    for name in ("talker.log.1", "talker.log"):
        path = locations.state_dir() / name
        if path.exists():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = [line.split("sound: closed; ", 1)[1] for line in lines if "sound: closed; " in line]
    return found[-1] if found else None


def ms(values: list[float]) -> str:
    return f"p50 {1000 * statistics.median(values):6.1f} ms   p95 {1000 * pct(values, 95):6.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=20, help="latency calls per path")
    ap.add_argument("--seconds", type=float, default=30, help="CPU measured over this much of a call")
    ap.add_argument("--long-call", type=float, default=60,
                    help="seconds of the call checked for underruns/overruns (the issue: 300)")
    ap.add_argument("--no-echo-cancel", action="store_true",
                    help="the device path without echo cancellation and noise suppression "
                         "(TALKER_ECHO_CANCEL=0); they are on by default, as a user gets them")
    args = ap.parse_args()
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    bench = Bench(tmp, args)
    try:
        # The device path: no file player, no recorder in the app (only the phone records).
        bench.start_app("device", {**bench.sound.env, "TALKER_AUDIO_DEVICE": "system",
                                   "TALKER_AUDIO_RECORD_DIR": "",
                                   "TALKER_ECHO_CANCEL": "0" if args.no_echo_cancel else "1"})
        device = [bench.device_latency(n) for n in range(args.calls)]
        long = bench.cpu_call(args.seconds, max(args.long_call, args.seconds + LEAD_S + 2))
        counters = sound_counters()
        bench.stop_app()
        # The baseline: pjsua2's null device, a file player in place of the microphone.
        bench.start_app("null", {"TALKER_AUDIO_DEVICE": "null", "TALKER_AUDIO_PLAY": str(bench.app_wav)})
        null = [bench.null_latency() for _ in range(args.calls)]
        null_cpu = bench.cpu_call(args.seconds)
    finally:
        bench.close()

    print(f"Audio path: the app on its device path (PortAudio → ALSA → PulseAudio) vs pjsua2's null "
          f"device with a file player; a pjsua2 phone through a loopback Kamailio; echo "
          f"cancellation {'off' if args.no_echo_cancel else 'on'}")
    print(f"Latency, {args.calls} calls each (onset to onset; see the docstring for the alignment):")
    for key, label in (("up", "microphone → phone"), ("down", "phone → speaker"),
                       ("sum", "both ways together")):
        dev, base = [d[key] for d in device], [d[key] for d in null]
        added = 1000 * (statistics.median(dev) - statistics.median(base))
        print(f"  {label:22} device  {ms(dev)}")
        print(f"  {'':22} null    {ms(base)}")
        goal = "   (goal ≤ 40 ms each way)" if key != "sum" else "   (exact: needs no clock alignment)"
        print(f"  {'':22} added   p50 {added:6.1f} ms   p95 "
              f"{1000 * (pct(dev, 95) - pct(base, 95)):6.1f} ms{goal}")
    checks = [d["p_check"] for d in device]
    # The phone writes its recording's last frame on a bridge tick before it reports the end,
    # so with a right start the call's end minus start minus the recording's length lies
    # between -20 ms and 0 (about -10 ms on average).
    print(f"  (check of the phone's start estimate — end − start − recording length, expected "
          f"−20…0 ms: p50 {1000 * statistics.median(checks):+.1f} ms, "
          f"range {1000 * min(checks):+.1f}…{1000 * max(checks):+.1f} ms)")
    print(f"CPU of the app process over {args.seconds:g} s of a call with audio both ways "
          f"({os.cpu_count()} cores; % of one core):")
    print(f"  device path {long['app']:5.1f} %   (goal ≤ 5 %; PulseAudio server meanwhile "
          f"{long['pulse']:.1f} %, with the bench's own recorders)")
    print(f"  null device {null_cpu['app']:5.1f} %   (file player and recorder)")
    print(f"  added       {long['app'] - null_cpu['app']:5.1f} %")
    print(f"Underruns/overruns over a {long['call_s']:.0f} s call on the device path (goal 0):")
    print(f"  app's counters: {counters or 'no “sound: closed;” line in the app log'}")
    print(f"  tone gaps (20 ms windows > {GAP_DROP_DB:g} dB below the tone's median): speaker "
          f"{long['down_gaps']} of {long['down_windows']}, phone's recording "
          f"{long['up_gaps']} of {long['up_windows']} (the microphone feed itself: "
          f"{long['feed_gaps']} of {long['feed_windows']})")
    print(f"  the same on the null device over {args.seconds:g} s (file player and recorder): "
          f"app's recording {null_cpu['down_gaps']} of {null_cpu['down_windows']}, phone's "
          f"recording {null_cpu['up_gaps']} of {null_cpu['up_windows']}")


if __name__ == "__main__":
    main()
