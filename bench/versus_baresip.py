"""Benchmark: Talker next to baresip, a softphone written in C, measured in the same run.

Both register to the same real Kamailio on loopback, and each figure is taken from both in turn:

- exec → REGISTER answered: the moment the client's first REGISTER is answered 200, stamped by a
  UDP relay in front of Kamailio (the same observer for both; the start-up runs only);
- resident memory (RSS and PSS) registered and idle for 10 s;
- CPU and wake-ups per minute, both registered and idle during the same minute;
- dial over a control connection that is already open (Talker's control channel, as the native
  host holds it; baresip's ctrl_tcp `dial`) → INVITE at the callee, a real pjsua2 phone that
  stamps its arrival and declines;
- `talker --callto` → INVITE at the callee, next to `python -c pass`;
- CPU per minute of a call with audio flowing both ways through a real PulseAudio server (Talker
  through PortAudio, baresip through its ALSA module and ALSA's pulse plugin), G.722 on both.

baresip (Debian's baresip-core) is a benchmark peer installed by `scripts/setup test`, never a
dependency of Talker. Figures, never a pass/fail.

    .venv/bin/python bench/versus_baresip.py [--runs 20] [--idle-seconds 60] [--call-seconds 60]
        [--parts startup,idle,dial,call]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import cpu_s, isolate, pct, precompile, pss_mb, rss_mb, thread_cpu, threads, wakeups  # noqa: E402
from tests.support import baresip  # noqa: E402
from tests.support.app import TALKER, App, configure_account  # noqa: E402
from tests.support.audio import write_tone  # noqa: E402
from tests.support.pbx import TestPbx  # noqa: E402
from tests.support.peer import Peer  # noqa: E402
from tests.support.sound import SoundServer  # noqa: E402

_REGISTER_OK = re.compile(rb"^CSeq:[ \t]*\d+[ \t]+REGISTER", re.I | re.M)
MIC_TONE = 440.0
PEER_TONE = 1000.0
SETTLE_S = 5.0          # after registering: the first route check and registration timers are over


class RegisterTap:
    """A UDP relay in front of Kamailio for one client at a time; it stamps (perf_counter) the
    first 200 answering a REGISTER since `reset()`."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.client: tuple[str, int] | None = None
        self.answered_at: float | None = None
        self._done = threading.Event()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.front.getsockname()[1]

    def reset(self) -> None:
        self.client, self.answered_at = None, None
        self._done.clear()

    def wait(self, timeout: float = 10.0) -> float:
        if not self._done.wait(timeout):
            raise SystemExit("no REGISTER was answered through the relay")
        return self.answered_at

    def close(self) -> None:
        self._stop = True

    def _run(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.2)
            for sock in ready:
                data, source = sock.recvfrom(65536)
                if sock is self.front:
                    self.client = source
                    self.back.sendto(data, self.upstream)
                elif self.client is not None:
                    # Stamped before forwarding: what is measured is the PBX's answer, not the relay.
                    if (self.answered_at is None and data.startswith(b"SIP/2.0 200")
                            and _REGISTER_OK.search(data)):
                        self.answered_at = time.perf_counter()
                        self._done.set()
                    self.front.sendto(data, self.client)


@dataclasses.dataclass
class Via:
    """What the clients' configuration reads from a PBX: its domain and the address to use."""
    domain: str
    server: str


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.1f} ms  p95 {pct(values, 95):7.1f} ms"


def ratio(talker: float, other: float) -> str:
    return f"{talker / other:5.2f}×" if other > 0 else "   —"


class Bench:
    def __init__(self, tmp: Path, args: argparse.Namespace):
        self.tmp, self.args = tmp, args
        self.sound = SoundServer(log_path=tmp / "pulseaudio.log").start()
        self.pbx = TestPbx(tmp / "pbx").start()
        self.tap = RegisterTap(self.pbx.server)
        self.talker_creds = self.pbx.add_employee("101", "Talker")
        self.baresip_creds = self.pbx.add_employee("102", "baresip")
        self.decliner_creds = self.pbx.add_employee("103", "Declines")
        self.answerer_creds = self.pbx.add_employee("104", "Answers")
        self.peer_wav = write_tone(tmp / "peer.wav", PEER_TONE, args.call_seconds + 30)
        self.talker_audio = {**self.sound.env, "TALKER_AUDIO_DEVICE": "system", "TALKER_AUDIO_RECORD_DIR": ""}
        self.cleanup: list = []
        self.call_threads: dict[str, dict[str, float]] = {}   # kind of call → thread → ms per call minute

    def close(self) -> None:
        for stop in reversed(self.cleanup):
            try:
                stop()
            except Exception as e:  # noqa: BLE001 - a bench tidies up what it can
                print(f"  (clean-up: {e})", file=sys.stderr)
        self.tap.close()
        self.pbx.stop()
        self.sound.stop()

    # --- start-up and memory --------------------------------------------------------------
    def startup(self) -> dict[str, dict[str, list[float]]]:
        via = Via(self.pbx.domain, self.tap.address)
        configure_account(via, "101", self.talker_creds.password)
        # A Baresip writes the configuration (through the relay) and shows it registers; the
        # timed runs then start the bare process on that configuration, as App starts Talker.
        first = baresip.Baresip(via, "102", self.baresip_creds.password, workdir=self.tmp / "startup",
                                sound_server=self.sound)
        first.wait_registered()
        first.stop()
        found: dict[str, dict[str, list[float]]] = {
            name: {"ms": [], "rss": [], "pss": []} for name in ("talker", "baresip")}
        for i in range(self.args.runs):
            for name in ("talker", "baresip"):
                self.tap.reset()
                t0 = time.perf_counter()
                if name == "talker":
                    app = App(self.tmp / f"start-{i}", extra_env=self.talker_audio)
                    proc, stop = app.proc, app.quit
                else:
                    proc = subprocess.Popen(["baresip", "-4", "-f", str(first.dir)], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            env=self.sound.child_env(TERM="dumb"))
                    stop = _terminate(proc)
                try:
                    found[name]["ms"].append((self.tap.wait() - t0) * 1000)
                    if i < 3:  # memory is steady; three samples are enough
                        time.sleep(10)
                        found[name]["rss"].append(rss_mb(proc.pid))
                        found[name]["pss"].append(pss_mb(proc.pid))
                finally:
                    stop()
        return found

    # --- the long-lived pair ----------------------------------------------------------------
    def start_pair(self) -> tuple[App, baresip.Baresip, Peer, Peer]:
        configure_account(self.pbx, "101", self.talker_creds.password)
        decliner = Peer(self.pbx, "103", self.decliner_creds.password, workdir=self.tmp,
                        options=("--reject-code", "486"))
        self.cleanup.append(decliner.stop)
        answerer = Peer(self.pbx, "104", self.answerer_creds.password, workdir=self.tmp,
                        options=("--auto-answer", "0"), play=self.peer_wav)
        self.cleanup.append(answerer.stop)
        app = App(self.tmp / "talker", extra_env=self.talker_audio)
        self.cleanup.append(app.quit)
        bs = baresip.Baresip(self.pbx, "102", self.baresip_creds.password, workdir=self.tmp,
                             sound_server=self.sound, codecs=("G722/16000/1", "PCMU/8000/1", "PCMA/8000/1"))
        self.cleanup.append(bs.stop)
        for phone in (decliner, answerer):
            phone.wait_registered()
        app.wait_registered()
        bs.wait_registered()
        return app, bs, decliner, answerer

    def idle(self, app: App, bs: baresip.Baresip) -> dict[str, tuple[float, float]]:
        time.sleep(SETTLE_S)
        pids = {"talker": app.proc.pid, "baresip": bs.proc.pid}
        before = {n: (cpu_s(p), threads(p)) for n, p in pids.items()}
        time.sleep(self.args.idle_seconds)
        per_min = 60 / self.args.idle_seconds
        return {n: (1000 * (cpu_s(p) - before[n][0]) * per_min, wakeups(before[n][1], threads(p)) * per_min)
                for n, p in pids.items()}

    def dial(self, app: App, bs: baresip.Baresip, decliner: Peer) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {"talker": [], "baresip": [], "callto": [], "python": []}
        with app.client() as client:
            for _ in range(self.args.runs):
                for name in ("talker", "baresip", "callto", "python"):
                    if name == "python":
                        t0 = time.perf_counter()
                        # As `talker` runs, its output read through pipes (about 0.4 ms here).
                        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, text=True, check=True)
                        found[name].append((time.perf_counter() - t0) * 1000)
                        continue
                    mark = decliner.mark()
                    wall0 = time.time()
                    if name == "talker":
                        client.request("call", target="103")
                    elif name == "baresip":
                        bs.call("103")
                    else:
                        done = subprocess.run([TALKER, "--callto=103"], capture_output=True, text=True)
                        if done.returncode != 0:
                            raise SystemExit(f"talker --callto failed: {done.stderr}")
                    invite = decliner.wait_call("incoming", after=mark)
                    found[name].append((invite["t"] - wall0) * 1000)
                    decliner.wait_call("ended", after=mark)
                    time.sleep(0.2)   # the caller's side of the declined call is over too
        return found

    def call_cpu(self, app: App, bs: baresip.Baresip, answerer: Peer) -> dict[str, list[float]]:
        """CPU per minute of the caller's process during a call with a tone each way."""
        found: dict[str, list[float]] = {"talker": [], "talker_no_aec": [], "baresip": []}
        tone = self.sound.start_tone(MIC_TONE)   # Talker's microphone; baresip plays its own file
        self.cleanup.append(tone.stop)
        for _ in range(self.args.call_runs):
            for name, pid in (("talker", app.proc.pid), ("talker_no_aec", app.proc.pid), ("baresip", bs.proc.pid)):
                mark = answerer.mark()
                if name.startswith("talker"):
                    # baresip runs with no echo canceller here; Talker's is on unless switched off.
                    with app.client() as c:
                        c.request("set_audio_option", option="echo_cancellation", on=name == "talker")
                    with app.client() as c:
                        c.request("call", target="104")
                else:
                    bs.call("104")
                answerer.wait_call("connected", after=mark, timeout=15)
                time.sleep(2.0)   # the media and the sound devices have settled
                cpu0, per_thread0, t0 = cpu_s(pid), thread_cpu(pid), time.monotonic()
                time.sleep(self.args.call_seconds)
                per_min = 60 / (time.monotonic() - t0)
                found[name].append(1000 * (cpu_s(pid) - cpu0) * per_min)
                # The last call of each kind, thread by thread (their names and ids).
                self.call_threads[name] = {
                    f"{thread}:{tid}": 1000 * (cpu - per_thread0.get(tid, (thread, 0.0))[1]) * per_min
                    for tid, (thread, cpu) in thread_cpu(pid).items()}
                if name.startswith("talker"):
                    with app.client() as c:
                        c.request("hangup")
                else:
                    bs.hangup()
                answerer.wait_call("ended", after=mark, timeout=15)
                time.sleep(1.0)
        return found


def _terminate(proc: subprocess.Popen):
    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="start-up and dial runs of each")
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--call-seconds", type=float, default=60)
    ap.add_argument("--call-runs", type=int, default=2)
    ap.add_argument("--parts", default="startup,idle,dial,call",
                    help="which figures to take, comma-separated (startup, idle, dial, call)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if parts - {"startup", "idle", "dial", "call"}:
        raise SystemExit(f"unknown parts: {sorted(parts - {'startup', 'idle', 'dial', 'call'})}")
    missing = baresip.missing()
    if missing:
        raise SystemExit(f"{missing}: run scripts/setup test")
    precompile()
    tmp = Path(tempfile.mkdtemp(prefix="talker-bench-"))
    isolate(tmp)
    bench = Bench(tmp, args)
    try:
        start = bench.startup() if "startup" in parts else None
        if parts & {"idle", "dial", "call"}:
            app, bs, decliner, answerer = bench.start_pair()
            idle = bench.idle(app, bs) if "idle" in parts else None
            dial = bench.dial(app, bs, decliner) if "dial" in parts else None
            cpu = bench.call_cpu(app, bs, answerer) if "call" in parts else None
    finally:
        bench.close()

    med = statistics.median
    print(f"Talker next to baresip, same run, loopback Kamailio ({args.runs} runs each, interleaved)")
    if start is not None:
        t, b = start["talker"], start["baresip"]
        print(f"  exec → REGISTER answered     Talker {ms(t['ms'])}   baresip {ms(b['ms'])}   "
              f"{ratio(med(t['ms']), med(b['ms']))}  (goal ≤ 120 ms)")
        print(f"  memory registered, idle 10 s Talker RSS {med(t['rss']):5.1f} MB PSS {med(t['pss']):5.1f} MB   "
              f"baresip RSS {med(b['rss']):5.1f} MB PSS {med(b['pss']):5.1f} MB  (goal RSS ≤ 40, PSS ≤ 25 MB)")
    if "idle" in parts:
        print(f"  idle, {args.idle_seconds:g} s side by side   Talker CPU {idle['talker'][0]:5.0f} ms/min, "
              f"{idle['talker'][1]:5.1f} wake-ups/min   baresip CPU {idle['baresip'][0]:5.0f} ms/min, "
              f"{idle['baresip'][1]:5.1f} wake-ups/min  (goal ≤ 20 ms/min)")
    if "dial" in parts:
        print(f"  dial, control channel open   Talker {ms(dial['talker'])}   baresip {ms(dial['baresip'])}   "
              f"{ratio(med(dial['talker']), med(dial['baresip']))}  (goal ≤ 2×)")
        print(f"  talker --callto → INVITE     {ms(dial['callto'])}   python -c pass {ms(dial['python'])}   "
              f"{ratio(med(dial['callto']), med(dial['python']))}  (goal ≤ 1.25×)")
    if "call" in parts:
        print(f"  CPU per call minute, G.722   Talker {med(cpu['talker']):6.0f} ms   baresip {med(cpu['baresip']):6.0f} ms   "
              f"{ratio(med(cpu['talker']), med(cpu['baresip']))}  (goal ≤ 1.1×; {args.call_runs} calls of "
              f"{args.call_seconds:g} s each, tone both ways)")
        print(f"    Talker with echo cancellation off {med(cpu['talker_no_aec']):6.0f} ms   "
              f"{ratio(med(cpu['talker_no_aec']), med(cpu['baresip']))}  (baresip cancels no echo here)")
        for kind, per_thread in bench.call_threads.items():
            busy = sorted(((ms_, thread) for thread, ms_ in per_thread.items() if ms_ >= 10), reverse=True)
            print(f"    {kind:14} by thread, last call (ms/min): "
                  + ", ".join(f"{thread} {ms_:.0f}" for ms_, thread in busy))


if __name__ == "__main__":
    main()
