"""common/schema_check.py against jsonschema: on every request of the control schema, and on
the schema's replies and events, the two agree whether a message is valid — on thousands of
generated messages, most of them nearly valid (right keys, values from the schema's own enums,
consts and patterns, or anything else)."""

from __future__ import annotations

from functools import cache

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from common import protocol
from common.schema_check import SchemaCheck, UnsupportedSchema, json_equal

ACTIONS = sorted(protocol.actions())

json_scalars = (st.none() | st.booleans() | st.integers(-5, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _resolve(sub: dict) -> dict:
    while isinstance(sub, dict) and "$ref" in sub:
        sub = protocol.schema()["$defs"][sub["$ref"].rsplit("/", 1)[1]]
    return sub


def near(sub, wild: bool = True) -> st.SearchStrategy:
    """Values a property of this schema might be sent: its own allowed ones, and (wild) anything."""
    sub = _resolve(sub)
    options = [json_values] if wild else []
    if isinstance(sub, dict):
        if "const" in sub:
            options.append(st.just(sub["const"]))
        if "enum" in sub:
            options.append(st.sampled_from(sub["enum"]))
        if "pattern" in sub:
            options.append(st.from_regex(sub["pattern"], fullmatch=True))
        elif sub.get("type") == "string" or "maxLength" in sub:
            options.append(st.text(min_size=sub.get("minLength", 0), max_size=sub.get("maxLength", 40) + 2))
        for bound in ("minLength", "maxLength"):  # just inside and just outside
            if bound in sub:
                n = sub[bound]
                options.append(st.text(alphabet="0123456789", min_size=max(0, n - 1), max_size=n + 1))
        if "oneOf" in sub:
            options.extend(near(branch, wild) for branch in sub["oneOf"])
        if sub.get("type") in ("integer", "number"):
            options.append(st.integers(-2, 100) | st.floats(-2, 100, allow_nan=False))
        if sub.get("type") == "boolean":
            options.append(st.booleans())
        if isinstance(sub.get("properties"), dict):
            required = set(sub.get("required", ()))
            fields = {k: near(v, wild) for k, v in sub["properties"].items()}
            options.append(st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                                 optional={k: v for k, v in fields.items() if k not in required}))
    return st.one_of(options or [json_values])


@st.composite
def request_for(draw, action: str) -> dict:
    """Mostly well-formed requests with one thing possibly wrong; now and then anything at all."""
    branch = protocol.actions()[action]
    wild = draw(st.integers(0, 3)) == 0
    required = set(branch.get("required", ()))
    props = {k: near(v, wild) for k, v in branch["properties"].items() if k not in ("action", "id")}
    message = draw(st.fixed_dictionaries(
        {"action": st.just(action), **({} if wild else {"id": st.text(min_size=1, max_size=70)}),
         **{k: v for k, v in props.items() if k in required and not wild}},
        optional={**({"id": st.text(min_size=1, max_size=70) | json_values} if wild else {}),
                  **{k: v for k, v in props.items() if k not in required or wild}}))
    if draw(st.integers(0, 4)) == 0:
        message[draw(st.text(max_size=6))] = draw(json_values)  # an extra key
    return message


@cache
def judge(action: str) -> jsonschema.Draft202012Validator:
    s = protocol.schema()
    branch = dict(protocol.actions()[action])
    branch["properties"] = {**branch["properties"], "id": s["$defs"]["id"]}
    branch["required"] = ["id", "action", *branch.get("required", [])]
    return jsonschema.Draft202012Validator({**branch, "$defs": s["$defs"]})


@pytest.mark.parametrize("action", ACTIONS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_requests_are_judged_as_jsonschema_judges_them(action, data):
    message = data.draw(request_for(action))
    expected = judge(action).is_valid(message)
    problem = protocol.validate_request(message)
    assert (problem is None) == expected, (message, problem)


def test_the_generated_requests_are_not_all_invalid():
    # A generator that never produced a valid request would make the agreement above hollow.
    @settings(max_examples=300, deadline=None)
    @given(data=st.data())
    def count(data):
        for action in ("call", "set_receive_mode", "hangup"):
            message = data.draw(request_for(action))
            seen[judge(action).is_valid(message)] += 1

    seen = {True: 0, False: 0}
    count()
    assert seen[True] > 30 and seen[False] > 30, seen


@pytest.mark.parametrize("definition", ["reply", "event"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_replies_and_events_are_judged_as_jsonschema_judges_them(definition, data):
    s = protocol.schema()
    root = {"$ref": f"#/$defs/{definition}", "$defs": s["$defs"]}
    message = data.draw(near(s["$defs"][definition]))
    assert SchemaCheck(root).is_valid(message) == jsonschema.Draft202012Validator(root).is_valid(message), message


def test_the_whole_control_schema_is_within_what_the_checker_implements():
    SchemaCheck(protocol.schema())


@pytest.mark.parametrize("schema", [{"type": "string", "format": "email"}, {"if": {"type": "string"}},
                                    {"$ref": "https://example.com/s.json"}, {"type": "decimal"},
                                    {"properties": {"a": {"patternProperties": {}}}}])
def test_a_keyword_it_does_not_implement_is_refused_when_built(schema):
    with pytest.raises(UnsupportedSchema):
        SchemaCheck(schema)


@pytest.mark.parametrize(("a", "b", "equal"), [(True, 1, False), (1, 1.0, True), (0, False, False),
                                               ([1, True], [1, True], True), ({"a": 1}, {"a": True}, False),
                                               ("1", 1, False), (None, None, True)])
def test_json_equality_keeps_booleans_apart_from_numbers(a, b, equal):
    assert json_equal(a, b) is equal


def test_an_error_names_where_and_what():
    check = SchemaCheck({"type": "object", "required": ["target"],
                         "properties": {"target": {"type": "string", "maxLength": 3}}})
    assert check.first_error({}) == ("message", "'target' is a required property")
    assert check.first_error({"target": "12345"}) == ("target", "'12345' is too long")


def test_one_of_means_exactly_one():
    check = SchemaCheck({"oneOf": [{"type": "integer"}, {"type": "number"}]})
    assert check.is_valid(1.5) and not check.is_valid(1) and not check.is_valid("1")


def test_a_deep_or_large_value_from_outside_is_described_not_printed():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    check = SchemaCheck({"type": "object", "properties": {"target": {"type": "string"}}})
    assert check.first_error({"target": deep}) == ("target", "an array of 1 item is not of type string")
    where, sentence = check.first_error({"target": {"x" * 10**6: 1}})
    assert len(sentence) < 100
