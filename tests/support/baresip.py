"""A phone that is not Talker's engine, for interop tests: baresip (Debian `baresip-core`, C),
registered to the test PBX as an employee, on loopback, with no sound card.

It speaks a WAV file (the `aufile` source, looped to `PLAY_S` seconds, because baresip ends the
call when the file runs out). What it hears it plays on a speaker: the `spk` sink of a real
PulseAudio server (tests/support/sound.py; its own unless one is passed in), reached through
baresip's `alsa` module and ALSA's pulse plugin, and recorded from the sink's monitor. That
recording is clocked and continuous (silence while nothing plays), so `heard(t0, t1)` tells what
baresip played between two moments of a test.

Why not baresip's own recorders: 1.0 has no file player (`aufile` is a source only), ALSA's
`null`/`file` devices are not paced (1 GB in 10 s), and the `sndfile` filter stops for good at the
first hold: audio.c's audio_decoder_set() flushes the receive filter chain when the stream is not
sendrecv, and aufilt_setup() never rebuilds it while the send chain is still there.

It is driven over baresip's `ctrl_tcp` module (netstring-framed JSON on a loopback TCP port:
commands and their responses, and every UA event) and prints its SIP trace (`-s`) and log to
`log_path`; `sip_messages()` parses that trace, so a test can read the SDP baresip answered.

Method names follow tests/support/peer.py's Peer where they mean the same: `wait_registered`,
`wait_call(state)`, `calls`, `mark`, `command`, `call`, `answer`, `hold`, `resume`, `hangup`,
`stop`. Call events carry Peer's states ("incoming", "ringing", "connected", "ended") plus
baresip's own `type`, and the wall-clock `t` of their arrival.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from tests.support import sound
from tests.support.audio import read_wav
from tests.support.pbx import TestPbx
from tests.support.peer import CallEvents
from tests.support.processes import free_port, stop_process

MODULE_PATH = Path("/usr/lib/baresip/modules")
# Answered in this order when the offer has them: an answer that lists several codecs is what
# makes pjsua's codec lock re-offer one (docs/platform-notes.md, "pjsua2").
DEFAULT_CODECS = ("PCMU/8000/1", "PCMA/8000/1", "G722/16000/1")
# What baresip plays is recorded at this rate (tones up to 4 kHz).
SPEAKER_RATE = 8000
# Longer than any test call: the aufile source reads the whole file into memory and ends the
# call ("end of file") when it is used up.
PLAY_S = 120.0

_CALL_STATES = {"CALL_INCOMING": "incoming", "CALL_RINGING": "ringing",
                "CALL_PROGRESS": "ringing", "CALL_ESTABLISHED": "connected",
                "CALL_CLOSED": "ended"}
_REGISTRATION_STATES = {"REGISTERING": "registering", "REGISTER_OK": "registered",
                        "REGISTER_FAIL": "failed", "UNREGISTERING": "offline"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def missing() -> str | None:
    """What is missing to run this peer (scripts/setup test installs it), or None."""
    if shutil.which("baresip") is None or not (MODULE_PATH / "ctrl_tcp.so").exists():
        return "baresip is not installed (Debian's baresip-core)"
    try:
        sound.require()
    except sound.SoundUnavailable as e:
        return str(e)
    return None


@dataclass(frozen=True)
class SipMessage:
    """One message of baresip's SIP trace."""
    direction: str        # "sent" | "received", from baresip's side
    first_line: str
    headers: dict[str, str]
    body: str

    @property
    def cseq_method(self) -> str:
        return self.headers.get("cseq", "").split()[-1:][0] if self.headers.get("cseq") else ""

    @property
    def is_response(self) -> bool:
        return self.first_line.startswith("SIP/2.0")

    @property
    def status(self) -> int | None:
        return int(self.first_line.split()[1]) if self.is_response else None


def sdp_codecs(body: str) -> list[str]:
    """Encoding names of the audio stream in an SDP body, in its order (telephone-event left
    out: it is no voice codec)."""
    payloads: list[str] = []
    names: dict[str, str] = {}
    in_audio = False
    for line in body.splitlines():
        if line.startswith("m="):
            in_audio = line.startswith("m=audio")
            if in_audio:
                payloads = line.split()[3:]
        elif in_audio and line.startswith("a=rtpmap:"):
            pt, _, rest = line[len("a=rtpmap:"):].partition(" ")
            names[pt] = rest.split("/")[0]
    static = {"0": "PCMU", "8": "PCMA", "9": "G722", "3": "GSM", "18": "G729"}
    found = [names.get(pt) or static.get(pt, pt) for pt in payloads]
    return [c for c in found if c.lower() != "telephone-event"]


def sdp_direction(body: str) -> str:
    """The audio stream's direction attribute (sendrecv when none is given, RFC 3264 5.1)."""
    for line in body.splitlines():
        if line.strip() in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            return line.strip()[2:]
    return "sendrecv"


def _looped_wav(source: Path | None, target: Path, seconds: float) -> tuple[Path, int]:
    """`source` repeated for `seconds` (silence when None)."""
    if source is None:
        rate, frames = 16000, bytes(2 * 16000)
    else:
        with wave.open(str(source), "rb") as w:
            assert w.getsampwidth() == 2 and w.getnchannels() == 1, "16-bit mono WAV expected"
            rate = w.getframerate()
            frames = w.readframes(w.getnframes())
    repeats = max(1, int(seconds * rate * 2 // max(1, len(frames))) + 1)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames * repeats)
    return target, rate


class Baresip(CallEvents):
    def __init__(self, pbx: TestPbx, extension: str, password: str, *, workdir: Path,
                 play: Path | None = None, answer: str = "manual",
                 codecs: tuple[str, ...] = DEFAULT_CODECS, sound_server: sound.SoundServer | None = None,
                 verbose: bool = False, start_timeout: float = 10.0):
        """`play`: the WAV (16-bit mono) it speaks into every call, silence when None; `answer`:
        "manual" (answer with `answer()`) or "auto" (baresip answers at once); `sound_server`:
        whose speaker it plays on (one of its own, stopped with it, when None); `verbose`:
        baresip's debug log as well."""
        self.extension = extension
        self.dir = workdir / f"baresip-{extension}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"baresip-{extension}.log"
        self.sip_port = free_port()
        self.ctrl_port = free_port()
        self._write_config(pbx, password, play, answer, codecs)
        self.events: list[dict] = []
        self._responses: list[dict] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._command_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._closed = False
        self._heard: tuple | None = None
        self.proc: subprocess.Popen | None = None
        self._log = open(self.log_path, "wb")
        self._own_sound = sound_server is None
        self.sound = sound_server or sound.SoundServer(workdir / f"baresip-{extension}-pulse.log").start()
        # Events carry time.time(), the recording time.monotonic(): one offset links them.
        self._wall_minus_monotonic = time.time() - time.monotonic()
        try:
            self.speaker = self.sound.record(sound.SPEAKER, workdir / f"baresip-{extension}-heard.wav",
                                             SPEAKER_RATE)
            # -s: the SIP trace into the log; -4: IPv4 only, everything here is on 127.0.0.1.
            self.proc = subprocess.Popen(
                ["baresip", "-4", "-s", "-f", str(self.dir), *(["-v"] if verbose else [])],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=self.sound.child_env(TERM="dumb"))
            self._sock = self._connect(start_timeout)
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._read, daemon=True).start()

    # --- setup ---------------------------------------------------------------------------------
    def _write_config(self, pbx: TestPbx, password: str, play: Path | None, answer: str,
                      codecs: tuple[str, ...]) -> None:
        if answer not in ("manual", "auto"):
            raise ValueError(f"answer must be 'manual' or 'auto', not {answer!r}")
        if any(c in password for c in ';">\n'):
            raise ValueError("a SIP password baresip's account line cannot carry")
        looped, rate = _looped_wav(play, self.dir / "play.wav", PLAY_S)
        # audio_alert: no such module, so that ring tones never reach the speaker and the
        # recording holds call audio only.
        (self.dir / "config").write_text(f"""\
poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
net_interface 127.0.0.1
call_local_timeout 120
call_max_calls 4
audio_source aufile,{looped}
ausrc_srate {rate}
ausrc_channels 1
audio_player alsa,default
auplay_srate {SPEAKER_RATE}
auplay_channels 1
audio_alert none,none
audio_level no
ausrc_format s16
auplay_format s16
auenc_format s16
audec_format s16
rtcp_mux no
jitter_buffer_delay 1-4
statmode_default off
ringback_disabled yes
module_path {MODULE_PATH}
module g711.so
module g722.so
module aufile.so
module alsa.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
""")
        (self.dir / "accounts").write_text(
            f'<sip:{self.extension}@{pbx.domain}>;auth_pass={password};'
            f'outbound="sip:{pbx.server};transport=udp";regint=120;'
            f'audio_codecs={",".join(codecs)};answermode={answer};mwi=no;pubint=0\n')
        (self.dir / "contacts").write_text("")

    def _connect(self, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"baresip {self.extension} exited ({self.proc.returncode}): "
                                     f"{self.log_tail()}")
            try:
                return socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1.0)
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"baresip {self.extension}: no ctrl_tcp within {timeout} s: "
                                         f"{self.log_tail()}") from None
                time.sleep(0.02)

    # --- the control channel -------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        self._sock.settimeout(None)
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while True:
                head, sep, rest = buf.partition(b":")
                if not sep or not head.isdigit():
                    break
                size = int(head)
                if len(rest) < size + 1:
                    break
                payload, buf = rest[:size], rest[size + 1:]  # the trailing ","
                self._dispatch(payload)
        with self._lock:
            self._closed = True
            self.events.append({"event": "closed", "t": time.time()})
            self._changed.notify_all()

    def _dispatch(self, payload: bytes) -> None:
        try:
            msg = json.loads(payload)
        except ValueError:
            msg = {"event": "garbage", "line": payload.decode(errors="replace")}
        msg["t"] = time.time()
        with self._lock:
            if msg.get("response"):
                self._responses.append(msg)
            else:
                ev = dict(msg)
                kind = msg.get("type", "")
                if kind in _CALL_STATES:
                    ev["event"], ev["state"] = "call", _CALL_STATES[kind]
                elif kind in _REGISTRATION_STATES:
                    ev["event"], ev["state"] = "registration", _REGISTRATION_STATES[kind]
                else:
                    ev["event"] = "other"
                self.events.append(ev)
            self._changed.notify_all()

    def command(self, cmd: str, params: str = "", timeout: float = 10.0) -> dict:
        """Run one of baresip's long commands ("dial", "accept", "hold", ...); its response
        (`ok`, `data`). A failed command is an AssertionError."""
        with self._command_lock:
            token = f"t{time.monotonic_ns()}"
            msg = {"command": cmd, "token": token}
            if params:
                msg["params"] = params
            data = json.dumps(msg).encode()
            self._sock.sendall(b"%d:%s," % (len(data), data))
            deadline = time.monotonic() + timeout
            with self._lock:
                while True:
                    for r in self._responses:
                        if r.get("token") == token:
                            self._responses.remove(r)
                            if not r.get("ok"):
                                raise AssertionError(f"baresip {self.extension}: {cmd} {params} "
                                                     f"failed: {r.get('data')}")
                            return r
                    remaining = deadline - time.monotonic()
                    if self._closed or remaining <= 0:
                        raise AssertionError(f"baresip {self.extension}: no response to {cmd}")
                    self._changed.wait(remaining)

    # --- waiting for what a user would notice --------------------------------------------------
    def wait_for(self, predicate, timeout: float = 10.0, what: str = "an event", after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for ev in self.events[after:]:
                    if predicate(ev):
                        return ev
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"baresip {self.extension}: no {what} within {timeout} s; "
                                         f"events: {self.events[-8:]}")
                self._changed.wait(remaining)

    def wait_registered(self, timeout: float = 10.0) -> None:
        """The first REGISTER may be answered before the control connection is up (baresip
        registers in about 9 ms, docs/platform-notes.md), and an event nobody was connected for is lost:
        ask for the registration state as well."""
        deadline = time.monotonic() + timeout
        while True:
            if any(e.get("event") == "registration" and e.get("state") == "registered"
                   for e in self.events):
                return
            info = _ANSI.sub("", self.command("reginfo").get("data", ""))
            if re.search(rf"sip:{re.escape(self.extension)}@\S+\s+OK\b", info):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"baresip {self.extension}: not registered within {timeout} s: "
                                     f"{info.strip()}")
            time.sleep(0.05)

    def wait_call(self, state: str, timeout: float = 10.0, after: int = 0) -> dict:
        """The first call event in `state`, among the events from index `after` on."""
        return self.wait_for(lambda e: e.get("event") == "call" and e.get("state") == state,
                             timeout, f"call '{state}'", after)

    # --- driving it ----------------------------------------------------------------------------
    def call(self, number: str) -> dict:
        return self.command("dial", number)

    def answer(self) -> dict:
        return self.command("accept")

    def set_answer_mode(self, mode: str) -> dict:
        return self.command("answermode", mode)

    def hold(self) -> dict:
        """Hold the current call: a re-INVITE with a=sendonly, and baresip stops sending."""
        return self.command("hold")

    def resume(self) -> dict:
        return self.command("resume")

    def hangup(self) -> dict:
        return self.command("hangup")

    # --- what it heard and said ----------------------------------------------------------------
    def heard(self, t0: float, t1: float):
        """What baresip played on its speaker between two wall-clock times (time.time(), as
        in the events' "t"), at SPEAKER_RATE. The first call ends the recording (it is read
        from its WAV): ask once the call is over."""
        if self._heard is None:
            path = self.speaker.stop()
            self._heard = (*read_wav(path), self.speaker.started_at + self._wall_minus_monotonic)
        samples, rate, started = self._heard
        return samples[max(0, int((t0 - started) * rate)):max(0, int((t1 - started) * rate))]

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return _ANSI.sub("", self.log_path.read_text(errors="replace"))[-chars:]
        except OSError:
            return ""

    def sip_messages(self) -> list[SipMessage]:
        """Every SIP message in baresip's trace so far, in order."""
        # Bytes: text mode would turn the messages' CRLF into LF.
        text = _ANSI.sub("", self.log_path.read_bytes().decode(errors="replace"))
        found = []
        # libre's trace: "#\n<proto> <src> -> <dst>\n<message>" for each message, sent or
        # received. The message itself has CRLF line ends, baresip's log lines LF: the body is
        # cut at its Content-Length.
        pattern = re.compile(r"^#\n(\w+) (\S+) -> (\S+)\n(.*?)(?=^#\n\w+ \S+ -> |\Z)", re.S | re.M)
        local = f"127.0.0.1:{self.sip_port}"
        for m in pattern.finditer(text):
            src, raw = m.group(2), m.group(4)
            head, _, body = raw.partition("\r\n\r\n")
            lines = head.split("\r\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers.setdefault(name.strip().lower(), value.strip())
            length = int(headers.get("content-length", "0") or 0)
            found.append(SipMessage("sent" if src == local else "received", lines[0], headers,
                                    body[:length].replace("\r\n", "\n")))
        return found

    # --- the end -------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if self._sock is not None:
                try:
                    self.command("quit", timeout=3.0)
                except (AssertionError, OSError):
                    pass
            stop_process(self.proc, 5, None)
        if self._sock is not None:
            self._sock.close()
        if getattr(self, "speaker", None) is not None:
            self.speaker.stop()  # the WAV stays for a person looking into a failure
        if self._own_sound:
            self.sound.stop()
        self._log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
