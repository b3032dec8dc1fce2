"""A headless SIP user agent on the Talker engine: the demo's echo peer and the tests' phones.

    python -m tray.sip.agent --user 100 --domain pbx.local --server 127.0.0.1:5060 \
        --auto-answer --echo            # password in $TALKER_AGENT_PASSWORD

With `--control stdio` it prints one JSON event per line on stdout (registration and call
changes, DTMF digits received) and takes one JSON command per line on stdin ({"cmd": "answer" | "decline" | "hangup" |
"call" | "quit", ...}); it exits when stdin closes. Without it, it runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from tray.sip.engine import Account, AudioConfig, CallEvent, CallState, RegistrationEvent, SipEngine


class Agent:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._out_lock = threading.Lock()
        self.done = threading.Event()
        audio = AudioConfig(device="null", play_file=args.play, record_dir=args.record_dir, echo=args.echo)
        self.engine = SipEngine(self, bind_address=args.bind, audio=audio,
                                user_agent="Talker agent", pj_log_level=args.pj_log_level)

    def emit(self, obj: dict) -> None:
        if self.args.control != "stdio":
            return
        # "t": when it happened, by the wall clock, so that benchmarks can line events up with
        # what other processes did.
        line = json.dumps({**obj, "t": time.time()}, default=str)
        with self._out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    # EngineListener
    def registration_changed(self, event: RegistrationEvent) -> None:
        self.emit({"event": "registration", **dataclasses.asdict(event)})

    def call_changed(self, event: CallEvent) -> None:
        self.emit({"event": "call", **dataclasses.asdict(event)})
        if event.state == CallState.INCOMING:
            if self.args.reject_code:
                self.engine.decline(event.call_id, self.args.reject_code)
            elif self.args.auto_answer is not None:
                self._later(self.args.auto_answer, lambda: self.engine.answer(event.call_id))

    def dtmf_received(self, call_id: str, digit: str) -> None:
        self.emit({"event": "dtmf", "call_id": call_id, "digit": digit})

    def _later(self, delay: float, fn) -> None:
        t = threading.Timer(delay, fn)
        t.daemon = True
        t.start()

    def handle(self, cmd: dict) -> None:
        name = cmd.get("cmd")
        try:
            if name == "answer":
                fut = self.engine.answer(cmd.get("call_id"))
            elif name == "decline":
                fut = self.engine.decline(cmd.get("call_id"), int(cmd.get("code", 603)))
            elif name == "hangup":
                fut = self.engine.hangup(cmd.get("call_id"))
            elif name == "call":
                fut = self.engine.make_call(str(cmd["number"]))
            elif name in ("hold", "resume"):
                fut = self.engine.set_hold(cmd.get("call_id"), name == "hold")
            elif name in ("mute", "unmute"):
                fut = self.engine.set_mute(cmd.get("call_id"), name == "mute")
            elif name == "quit":
                self.done.set()
                return
            else:
                raise ValueError(f"unknown command {name!r}")
            result = fut.result(10)
            self.emit({"reply": name, "ok": True, "result": result})
        except Exception as e:
            self.emit({"reply": name, "ok": False, "error": str(e)})

    def run(self) -> int:
        a = self.args
        self.engine.start()
        password = os.environ.get(a.password_env, "")
        self.engine.set_account(Account(a.user, a.domain, password, a.server, a.display_name, a.expires))
        if a.control == "stdio":
            threading.Thread(target=self._read_stdin, daemon=True).start()
        else:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.done.set())
        self.done.wait()
        self.engine.stop()
        return 0

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                self.emit({"reply": None, "ok": False, "error": "not JSON"})
                continue
            self.handle(cmd)
            if self.done.is_set():
                return
        self.done.set()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tray.sip.agent", description=__doc__.split("\n")[0])
    p.add_argument("--user", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--server", required=True, help="host:port of the PBX")
    p.add_argument("--password-env", default="TALKER_AGENT_PASSWORD")
    p.add_argument("--display-name", default="")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--expires", type=int, default=120)
    p.add_argument("--auto-answer", type=float, metavar="DELAY_S")
    p.add_argument("--reject-code", type=int, help="decline every call with this SIP code")
    p.add_argument("--echo", action="store_true")
    p.add_argument("--play", type=Path, help="WAV file to send into every call")
    p.add_argument("--record-dir", type=Path, help="write each call's received audio here")
    p.add_argument("--control", choices=("stdio", "none"), default="none")
    p.add_argument("--pj-log-level", type=int, default=0)
    p.add_argument("--log-level", default="WARNING")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s agent %(name)s %(levelname)s %(message)s")
    return Agent(args).run()


if __name__ == "__main__":
    sys.exit(main())
