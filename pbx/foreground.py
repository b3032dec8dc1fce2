"""What the foreground commands of talker-pbx (`run`, `demo`) share: stopping cleanly on a
signal, and Kamailio's settings from the command line. Its own module so that the demo does not
import the command module that starts it."""

from __future__ import annotations

import logging
import signal
import sys

from pbx.instance import PbxInstance
from pbx.kamailio.config import KamailioSettings


def kamailio_settings(pbx: PbxInstance, ns) -> KamailioSettings:
    return KamailioSettings(run_dir=pbx.run_dir, database_url=pbx.database_url, domain=pbx.domain,
                            listen_address=ns.listen, sip_port=ns.sip_port, children=ns.children,
                            log_level=2 if ns.verbose else 1)



class StopSignal(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived: unwinds a foreground command through its `finally`
    blocks (a BaseException, like KeyboardInterrupt, so that no `except Exception` holds it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StopSignals:
    """While installed, the first stop signal raises StopSignal in the main thread; later ones,
    and any after disarm(), are only noted, so that a second Ctrl-C or a service manager's
    repeated SIGTERM cannot cut the cleanup short. restore() puts the previous handlers back
    and, if a signal came, ends the process by it (a service manager reads a clean stop from a
    death by SIGTERM, and a shell a Ctrl-C from a death by SIGINT)."""

    def __init__(self):
        self.received: int | None = None
        self._armed = True
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        if self._armed:
            self._armed = False
            raise StopSignal(signum)

    def disarm(self) -> None:
        self._armed = False

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self.received is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()
            signal.signal(self.received, signal.SIG_DFL)
            signal.raise_signal(self.received)
