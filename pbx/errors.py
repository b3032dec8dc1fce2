"""The PBX's one exception hierarchy. Every error is something a caller did or can fix, with a
stable machine-readable `code` and an English sentence; the API turns each class into its HTTP
status, the CLI into an exit code.

    PbxError                    the operator can fix it (CLI exit 1)
    ├── InvalidInput            422 (CLI exit 2): the request is wrong; `fields` says where
    ├── Conflict                409: a duplicate, or a rule like "keep one administrator"
    ├── NotFound                404: no such thing, or not yours to see
    ├── Forbidden               403: not a member of Administrators
    ├── Unauthenticated         401: no valid token, or wrong login/password
    ├── PreconditionRequired    428: a versioned resource written without If-Match
    ├── PreconditionFailed      412: written with a stale version: nothing was changed
    └── LoginLocked             429: too many failed logins; `retry_after_s`
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str      # "email", "devices[0].ring_timeout_s"
    code: str       # "invalid_email", "taken", ...
    message: str

    def to_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


class PbxError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: str):
        super().__init__(message)
        if code is not None:
            self.code = code
        # Machine-readable facts of the message (a value, who has it), for clients that say
        # the sentence in their user's language.
        self.details = details


class InvalidInput(PbxError):
    status = 422
    code = "invalid_input"

    def __init__(self, message: str, fields: list[FieldProblem] | None = None, *, code: str | None = None):
        super().__init__(message, code=code)
        self.fields = fields or []

    @classmethod
    def field(cls, field: str, code: str, message: str) -> InvalidInput:
        return cls(message, [FieldProblem(field, code, message)])


class Conflict(PbxError):
    status = 409
    code = "conflict"


class NotFound(PbxError):
    status = 404
    code = "not_found"


class Forbidden(PbxError):
    status = 403
    code = "forbidden"


class Unauthenticated(PbxError):
    status = 401
    code = "unauthenticated"


class PreconditionRequired(PbxError):
    status = 428
    code = "if_match_required"


class PreconditionFailed(PbxError):
    status = 412
    code = "stale_version"


class LoginLocked(PbxError):
    status = 429
    code = "login_locked"

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s
