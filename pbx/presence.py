"""Colleagues' presence as the PBX knows it: an employee is "on_call" while a call of theirs is
answered and not hung up (Kamailio records it in `active_call`: the 200 to the INVITE, then the
BYE), "registered" while any of their SIP accounts holds a live registration in Kamailio's
`location` table (usrloc writes it through, docs/decisions.md #8), and "unavailable" otherwise.
Every employee may read it, as they read the directory."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pbx.audit import Actor
from pbx.db import ActiveCall, Employee, SipAccount
from pbx.instance import PbxInstance
from pbx.schemes import registered_usernames

ON_CALL, REGISTERED, UNAVAILABLE = "on_call", "registered", "unavailable"
STATES = (ON_CALL, REGISTERED, UNAVAILABLE)
# A call whose BYE never reached the PBX (a phone that lost its network) stops counting then.
ACTIVE_CALL_MAX_AGE = dt.timedelta(hours=8)


def presence(pbx: PbxInstance, actor: Actor) -> dict[int, str]:
    """employee id → one of STATES, for every employee."""
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - ACTIVE_CALL_MAX_AGE
    with pbx.sessions() as s:
        accounts = list(s.execute(select(SipAccount.employee_id, SipAccount.username)))
        live = registered_usernames(s, [username for _, username in accounts])
        extensions = dict(s.execute(select(Employee.id, Employee.extension)).all())
        talking = set()
        for caller, callee in s.execute(select(ActiveCall.caller, ActiveCall.callee)
                                        .where(ActiveCall.started > since)):
            talking.update((caller, callee))
    states = {employee_id: UNAVAILABLE for employee_id in extensions}
    for employee_id, username in accounts:
        if username in live:
            states[employee_id] = REGISTERED
    for employee_id, username in accounts:
        if username in talking or extensions.get(employee_id) in talking:
            states[employee_id] = ON_CALL
    return states
