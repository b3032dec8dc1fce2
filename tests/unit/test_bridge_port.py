"""The conference bridge's end of the sound devices (tray/sip/engine.py, _BridgePort) on a real
pjsua2 endpoint and its real clock: the microphone's frames reach the bridge byte for byte, and
the clock's thread keeps one Python thread state while it runs (not one made and freed on every
callback, 100 times a second) and gives it back when the clock stops: a call leaves nothing
behind. pjsua2 allows one Endpoint per process, so the endpoint lives in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path


_CHILD = textwrap.dedent("""
    import ctypes, json, os, sys, time
    import pjsua2 as pj
    from tray.sip import engine, sound

    api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]

    def thread_states():
        count, state = 0, api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
        while state:
            count, state = count + 1, api.PyThreadState_Next(state)
        return count

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.medConfig.threadCnt = 0
    cfg.medConfig.hasIoqueue = False
    cfg.logConfig.level = cfg.logConfig.consoleLevel = 0
    ep.libInit(cfg)
    ep.libStart()
    ep.audDevManager().setNoDev()
    devices = sound.SoundDevices()
    states = engine.ForeignThreadStates()
    port = engine._BridgePort(devices, states)

    # What the microphone said, as the bridge asks for it (frames given one after the other
    # must not share storage).
    said = [os.urandom(sound.FRAME_BYTES) for _ in range(3)]
    for frame in said:
        devices.microphone.put(frame)
    asked = []
    for _ in said:
        frame = pj.MediaFrame()
        port.onFrameRequested(frame)
        asked.append(frame)
    report = {"frames_intact": [bytes(f.buf) == s for f, s in zip(asked, said)]}

    # Three calls' worth of clock: the thread states while it runs and after it stopped.
    port.startTransmit(port)
    idle, running, after = thread_states(), [], []
    for _ in range(3):
        ep.audDevManager().setNullDev()
        time.sleep(0.3)
        running.append(thread_states())
        ep.audDevManager().setNoDev()
        states.release()
        after.append(thread_states())
    report.update(idle=idle, running=running, after=after,
                  frames_through_the_bridge=devices.speaker.overruns + len(devices.speaker))
    print(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)   # pjsua2 may assert on the way out (docs/platform-notes.md)
""")


def _run_child() -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_bridge_gets_each_microphone_frame_byte_for_byte_and_a_call_leaves_no_thread_state():
    report = _run_child()
    assert report["frames_intact"] == [True, True, True]
    assert report["frames_through_the_bridge"] > 10, "the clock never drove the port"
    # One state kept for the clock's thread while it runs, none left once it has stopped.
    assert report["running"] == [report["idle"] + 1] * 3
    assert report["after"] == [report["idle"]] * 3
