"""An employee with several phones and a receive scheme, for tests of what rings when.

Each SIP account gets its own pjsua2 process (docs/platform-notes.md: several callee accounts in one
process answer forked INVITEs with 482), registered to the test PBX. Call events carry a
wall-clock "t", so the tests measure how long each phone rang."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pbx import directory, schemes
from pbx.audit import Actor
from pbx.kamailio.supervisor import KamailioProcess
from tests.support.pbx import TestPbx
from tests.support.peer import Peer

CONSOLE = Actor.console()


def device(address: str, position: int, timeout_s: int = 30, *, active: bool = True,
           schedule: dict | None = None, kind: str = "sip") -> dict:
    """One device of a scheme document (pbx.ringplan's JSON form)."""
    return {"id": f"sip-{address}" if kind == "sip" else f"ext-{address}", "kind": kind,
            "address": address, "active": active, "position": position,
            "ring_timeout_s": timeout_s, "schedule": schedule}


@dataclasses.dataclass
class Callee:
    employee_id: int
    extension: str
    phones: dict[str, Peer]
    passwords: dict[str, str]  # SIP password by username

    def set_scheme(self, pbx: TestPbx, mode: str, devices: list[dict], timezone: str = "UTC") -> None:
        schemes.replace_scheme(pbx.instance, CONSOLE, self.employee_id, None,
                               {"mode": mode, "timezone": timezone, "devices": devices})


class Phones:
    """Starts employees with phones; stops every phone at the end of the test."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.started: list[Peer] = []

    def employee(self, pbx: TestPbx, extension: str, extra: tuple[str, ...] = (), *,
                 options: dict[str, tuple[str, ...]] | None = None,
                 unregistered: tuple[str, ...] = ()) -> Callee:
        """An employee whose SIP accounts are `extension` and `extra`, each registered from a
        phone of its own (except those in `unregistered`); `options` are the phones' agent
        options by username (e.g. ("--reject-code", "486"))."""
        options = options or {}
        new = directory.add_employee(pbx.instance, CONSOLE, name=f"Employee {extension}",
                                     extension=extension)
        accounts = {extension: new.sip.password}
        for username in extra:
            accounts[username] = schemes.add_sip_account(pbx.instance, CONSOLE, new.employee.id,
                                                         username).password
        phones = {}
        for username, password in accounts.items():
            if username in unregistered:
                continue
            peer = Peer(pbx, username, password, workdir=self.workdir,
                        options=options.get(username, ()))
            self.started.append(peer)
            phones[username] = peer
        for peer in phones.values():
            peer.wait_registered()
        return Callee(new.employee.id, extension, phones, accounts)

    def stop(self) -> None:
        # Each phone takes a moment to unregister and exit: stop them side by side.
        with ThreadPoolExecutor(max_workers=max(1, len(self.started))) as pool:
            list(pool.map(Peer.stop, self.started))


def restart_kamailio(pbx: TestPbx, **settings) -> TestPbx:
    """The same PBX and database, with other Kamailio settings (KamailioSettings fields)."""
    pbx.stop()
    pbx.settings = dataclasses.replace(pbx.settings, **settings)
    pbx.kamailio = KamailioProcess(pbx.settings)
    pbx.start()
    return pbx


# --- reading what the phones saw ---------------------------------------------------------------
def rang(peer: Peer) -> bool:
    return bool(peer.calls("incoming"))


def first(peer: Peer, state: str) -> dict | None:
    found = peer.calls(state)
    return found[0] if found else None


def still_ringing(peer: Peer) -> bool:
    return rang(peer) and not peer.calls("ended") and not peer.calls("connected")


def ring_span(peer: Peer, t0: float, timeout: float = 5.0) -> tuple[float, float]:
    """When the phone started and stopped ringing, in seconds after t0. The phone's CANCEL may
    arrive a moment after the caller's final reply: wait for it (bounded)."""
    start = peer.wait_call("incoming", timeout=timeout)
    end = peer.wait_call("ended", timeout=timeout)
    return start["t"] - t0, end["t"] - t0
