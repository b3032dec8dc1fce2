"""Calls that reached nobody: Kamailio records each call whose ring plan rang no device (the
caller heard 480: every device switched off, out of its schedule, or not registered), and the
employee's apps read them here to show "missed while unavailable"."""

from __future__ import annotations

from sqlalchemy import delete, select

from pbx.db import UnreachedCall
from pbx.instance import PbxInstance

KEPT_PER_EMPLOYEE = 200  # older ones are dropped when the list is read


def recent(pbx: PbxInstance, employee_id: int, limit: int = 50) -> list[UnreachedCall]:
    """The newest calls that reached nobody, newest first."""
    with pbx.sessions.begin() as s:
        rows = list(s.scalars(select(UnreachedCall).where(UnreachedCall.employee_id == employee_id)
                              .order_by(UnreachedCall.id.desc()).limit(KEPT_PER_EMPLOYEE + 1)))
        if len(rows) > KEPT_PER_EMPLOYEE:
            s.execute(delete(UnreachedCall).where(UnreachedCall.employee_id == employee_id,
                                                  UnreachedCall.id <= rows[KEPT_PER_EMPLOYEE].id))
        s.expunge_all()
        return rows[:limit]
