"""A JSON Schema (2020-12) checker for the keywords common/control.schema.json uses, standard
library only.

Why not jsonschema here: the native host starts for the first click after Chrome has put the
extension's service worker to sleep (30 s idle), which is most clicks; importing jsonschema was
about 70 ms of that start. This checker builds in well under a millisecond. It refuses, when
built, any schema keyword it does not implement, so the schema cannot silently outgrow it; a
property test holds it to jsonschema's verdicts (tests/unit/test_schema_check.py).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any

# Keywords that only annotate: nothing to check.
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}
_CHECKED = {"type", "enum", "const", "properties", "required", "additionalProperties", "items",
            "minLength", "maxLength", "minimum", "maximum", "pattern", "oneOf", "$ref"}

_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


class UnsupportedSchema(ValueError):
    pass


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: true is not 1, 1 is 1.0, and containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list, str)) or isinstance(b, (dict, list, str)):
        return type(a) is type(b) and a == b
    return bool(a == b)


class SchemaCheck:
    """`SchemaCheck(schema).first_error(value)` → None, or (path, sentence) of one failure."""

    def __init__(self, schema: Any) -> None:
        self._root = schema
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._audit(schema)

    # --- building -----------------------------------------------------------------------------
    def _audit(self, schema: Any) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"a schema must be an object or a boolean, not {schema!r}")
        for key, value in schema.items():
            if key in _ANNOTATIONS or key.startswith("x-"):
                if key == "$defs":
                    for sub in value.values():
                        self._audit(sub)
                continue
            if key not in _CHECKED:
                raise UnsupportedSchema(f"the keyword {key!r} is not implemented here")
            if key == "properties":
                for sub in value.values():
                    self._audit(sub)
            elif key in ("additionalProperties", "items"):
                self._audit(value)
            elif key == "oneOf":
                for sub in value:
                    self._audit(sub)
            elif key == "pattern":
                self._patterns[value] = re.compile(value)
            elif key == "$ref":
                self._resolve(value)
            elif key == "type":
                for name in value if isinstance(value, list) else [value]:
                    if name not in _TYPES:
                        raise UnsupportedSchema(f"unknown type {name!r}")

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise UnsupportedSchema(f"only local references are implemented, not {ref!r}")
        node = self._root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise UnsupportedSchema(f"the reference {ref!r} leads nowhere")
            node = node[part]
        return node

    # --- checking -----------------------------------------------------------------------------
    def first_error(self, value: Any) -> tuple[str, str] | None:
        return self._check(self._root, value, ())

    def is_valid(self, value: Any) -> bool:
        return self.first_error(value) is None

    def _check(self, schema: Any, value: Any, path: tuple[str | int, ...]) -> tuple[str, str] | None:
        if schema is True:
            return None
        if schema is False:
            return _error(path, "nothing is allowed here")
        if "$ref" in schema:
            problem = self._check(self._resolve(schema["$ref"]), value, path)
            if problem:
                return problem
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_TYPES[n](value) for n in names):
                return _error(path, f"{_short(value)} is not of type {' or '.join(names)}")
        if "const" in schema and not json_equal(value, schema["const"]):
            return _error(path, f"{_short(schema['const'])} was expected")
        if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
            return _error(path, f"{_short(value)} is not one of {_short(schema['enum'])}")
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                return _error(path, f"{_short(value)} is too short")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                return _error(path, f"{_short(value)} is too long")
            if "pattern" in schema and not self._patterns[schema["pattern"]].search(value):
                return _error(path, f"{_short(value)} does not match {schema['pattern']!r}")
        if _TYPES["number"](value) and "minimum" in schema and value < schema["minimum"]:
            return _error(path, f"{value} is less than the minimum of {schema['minimum']}")
        if _TYPES["number"](value) and "maximum" in schema and value > schema["maximum"]:
            return _error(path, f"{value} is more than the maximum of {schema['maximum']}")
        if isinstance(value, dict):
            problem = self._check_object(schema, value, path)
            if problem:
                return problem
        if isinstance(value, list) and "items" in schema:
            for n, item in enumerate(value):
                problem = self._check(schema["items"], item, (*path, n))
                if problem:
                    return problem
        if "oneOf" in schema:
            matching = sum(1 for sub in schema["oneOf"] if self._check(sub, value, path) is None)
            if matching != 1:
                return _error(path, f"{_short(value)} matches {matching} of the allowed forms, not exactly one")
        return None

    def _check_object(self, schema: Any, value: dict[str, Any], path: tuple[str | int, ...]) -> tuple[str, str] | None:
        for name in schema.get("required", ()):
            if name not in value:
                return _error(path, f"{name!r} is a required property")
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name in value:
                problem = self._check(sub, value[name], (*path, name))
                if problem:
                    return problem
        extra = schema.get("additionalProperties", True)
        if extra is not True:
            for name in value:
                if name not in properties:
                    if extra is False:
                        return _error(path, f"additional properties are not allowed ({name!r} was unexpected)")
                    problem = self._check(extra, value[name], (*path, name))
                    if problem:
                        return problem
        return None


def _error(path: tuple[str | int, ...], message: str) -> tuple[str, str]:
    return "/".join(str(p) for p in path) or "message", message


def _short(value: Any) -> str:
    """A value for an error sentence: never the whole of a large or deep one (it came from outside)."""
    if isinstance(value, dict):
        return f"an object of {len(value)} propert{'y' if len(value) == 1 else 'ies'}"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:57]) + "..."
    return repr(value)
