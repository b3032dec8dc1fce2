"""The audit log: who changed what. Written in the same transaction as the change itself, so an
entry exists exactly when the change does; the API's event stream follows it (pbx/api/events.py),
which is how a change made by any process reaches the employees' apps."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pbx.db import AuditEntry

# audience_id values: an employee id (their apps), EVERYONE, or NOBODY (nothing to refetch).
EVERYONE = None
NOBODY = 0


@dataclass(frozen=True)
class Actor:
    """Who is acting: an employee through the API, or the operator at the PBX's console."""

    employee_id: int | None
    name: str
    is_admin: bool

    @classmethod
    def console(cls) -> Actor:
        return cls(None, "talker-pbx (console)", True)


def record(session: Session, actor: Actor, action: str, resource: str, resource_id: int | None,
           *, audience_id: int | None = None, **details: object) -> None:
    """`audience_id`: the one employee whose apps must hear of it, EVERYONE or NOBODY."""
    session.add(AuditEntry(actor_id=actor.employee_id, actor=actor.name, action=action, resource=resource,
                           resource_id=resource_id, audience_id=audience_id,
                           details=json.dumps(details, ensure_ascii=False, default=str)[:2048]))
