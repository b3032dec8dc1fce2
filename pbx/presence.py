"""Colleagues' presence as the PBX knows it: an employee is "registered" while any of their SIP
accounts holds a live registration in Kamailio's `location` table (usrloc writes it through,
docs/decisions.md #8), and "unavailable" otherwise. Every employee may read it, as they read the
directory."""

from __future__ import annotations

from sqlalchemy import select

from pbx.audit import Actor
from pbx.db import Employee, SipAccount
from pbx.instance import PbxInstance
from pbx.schemes import registered_usernames

REGISTERED, UNAVAILABLE = "registered", "unavailable"
STATES = (REGISTERED, UNAVAILABLE)


def presence(pbx: PbxInstance, actor: Actor) -> dict[int, str]:
    """employee id → one of STATES, for every employee."""
    with pbx.sessions() as s:
        accounts = list(s.execute(select(SipAccount.employee_id, SipAccount.username)))
        live = registered_usernames(s, [username for _, username in accounts])
        states = {employee_id: UNAVAILABLE for employee_id in s.scalars(select(Employee.id))}
    for employee_id, username in accounts:
        if username in live:
            states[employee_id] = REGISTERED
    return states
