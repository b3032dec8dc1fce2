"""What the windows know without widgets: reading and writing the receive scheme's JSON, the
hints a form shows as you type, where a PBX problem belongs on the form, and the sentences of
the ring-plan preview. No tkinter here, so all of it is tested without a display.

A *path* is where something sits in the scheme's JSON, as a tuple: ("devices", 1, "schedule",
"rules", 0, "end"). The PBX reports its problems with such paths (as text), the form's own
checks use them too, and the settings window keys its error labels by them. Paths index the
devices in the form's order, which is the order the form sends (positions are renumbered on
save), so a path the PBX answers with names the row the user sees.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from common import protocol
from common.i18n import has_text, language, tr
from tray import failures, history

# The PBX's limits and modes as the control schema states them (a test holds them equal to
# pbx/ringplan.py and the PBX's OpenAPI document): hints only, the PBX is the judge.
MAX_RING_TIMEOUT_S = protocol.max_ring_timeout_s()
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # = pbx.ringplan.WEEKDAYS (tested)
MODES = protocol.receive_modes()
# The form's kinds of rule. The last two are one JSON rule type, "calendar", with days
# "working_days" / "days_off"; to the user they are two different things.
RULE_KINDS = ("weekdays", "working_days", "days_off", "period")

Path = tuple  # of str | int


class FormInvalid(Exception):
    """The form has values that cannot even be sent; `problems` maps paths to sentences."""

    def __init__(self, problems: dict[Path, str]):
        super().__init__(next(iter(problems.values()), ""))
        self.problems = problems


# --- paths -----------------------------------------------------------------------------------------
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> Path:
    """'devices[0].schedule.rules[1].end' (the PBX's own checks) or 'devices.0.ring_timeout_s'
    (its request validation) as a path."""
    out: list[str | int] = []
    for name, index in _TOKEN.findall(text or ""):
        if index:
            out.append(int(index))
        elif name.isdigit():
            out.append(int(name))
        else:
            out.append(name)
    return tuple(out)


_DEVICE_FIELDS = ("active", "ring_timeout_s", "address", "id", "kind", "position")
_RULE_FIELDS = ("start", "end", "days", "type")


def widget_key(path: Path) -> Path:
    """The path of the form field that shows a problem at `path`: the deepest one the form has.
    () is the window's general message line."""
    p = tuple(path)
    if p[:1] in (("mode",), ("timezone",)):
        return p[:1]
    if len(p) < 2 or p[0] != "devices" or not isinstance(p[1], int):
        return ()
    device = p[:2]
    if len(p) == 2:
        return device
    if p[2] in _DEVICE_FIELDS:
        return device + (p[2],)
    if p[2] != "schedule":
        return device
    schedule = device + ("schedule",)
    if len(p) < 5 or p[3] != "rules" or not isinstance(p[4], int):
        return schedule
    rule = schedule + ("rules", p[4])
    if len(p) == 5:
        return rule
    if p[5] in _RULE_FIELDS:
        return rule + (p[5],)
    if p[5] == "windows":
        return rule + ("windows",)
    return rule


def under(path: Path, prefix: Path) -> bool:
    return tuple(path[:len(prefix)]) == tuple(prefix)


# --- values as typed --------------------------------------------------------------------------------
def parse_timeout(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"\d{1,6}", text) else None


def parse_date(text: str) -> dt.date | None:
    """2026-01-31, or 31.01.2026 as Russian users write it."""
    text = (text or "").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            y, m, d = map(int, text.split("-"))
            return dt.date(y, m, d)
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
            d, m, y = map(int, text.split("."))
            return dt.date(y, m, d)
    except ValueError:
        return None
    return None


def date_format() -> str:
    """How the user's language writes a date: 31.01.2026 in Russian, 2026-01-31 in English."""
    return "%d.%m.%Y" if language() == "ru" else "%Y-%m-%d"


def display_date(text: str) -> str:
    """A date as the form shows it (the PBX sends ISO dates); text that is no date, as it is."""
    day = parse_date(text)
    return day.strftime(date_format()) if day else (text or "")


def parse_time(text: str) -> str | None:
    """'9:00', '09:00', '9.00' → '09:00'; '24:00' is midnight at the end of a day ('00:00')."""
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", (text or "").strip())
    if not m:
        return None
    hour, minute = int(m[1]), int(m[2])
    if (hour, minute) == (24, 0):
        return "00:00"
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


_WINDOW_SPLIT = re.compile(r"\s*(?:-|–|—|\.\.)\s*")


def parse_hours(text: str) -> list[dict[str, str]]:
    """'09:00–13:00, 14:00–18:00' → time windows; empty text is the whole day. ValueError with
    a sentence for an item that is not a window."""
    windows = []
    for item in re.split(r"[,;]", text or ""):
        item = item.strip()
        if not item:
            continue
        parts = _WINDOW_SPLIT.split(item)
        times = [parse_time(p) for p in parts] if len(parts) == 2 else [None]
        if None in times:
            raise ValueError(tr("win.bad_hours", item=item))
        windows.append({"start": times[0], "end": times[1]})
    return windows


def format_hours(windows: list[dict]) -> str:
    return ", ".join(f"{w['start']}–{w['end']}" for w in windows)


# --- the receive scheme as a form ------------------------------------------------------------------
@dataclass
class RuleForm:
    kind: str                      # one of RULE_KINDS
    start: str = ""                # period, as typed
    end: str = ""
    days: set[str] = field(default_factory=set)   # weekdays
    hours: str = ""                # "09:00–18:00"; empty: the whole day

    @classmethod
    def from_json(cls, data: dict) -> RuleForm:
        hours = format_hours(data.get("windows") or [])
        kind = data.get("type")
        if kind == "period":
            return cls("period", start=display_date(data.get("start") or ""), end=display_date(data.get("end") or ""),
                       hours=hours)
        if kind == "weekdays":
            return cls("weekdays", days=set(data.get("days") or ()), hours=hours)
        return cls("days_off" if data.get("days") == "days_off" else "working_days", hours=hours)

    def to_json(self, at: Path, problems: dict[Path, str]) -> dict:
        try:
            windows = parse_hours(self.hours)
        except ValueError as e:
            problems[at + ("windows",)] = str(e)
            windows = []
        if self.kind == "period":
            out = {"type": "period"}
            for key in ("start", "end"):
                day = parse_date(getattr(self, key))
                if day is None:
                    problems[at + (key,)] = tr("win.bad_date", text=getattr(self, key).strip() or "…")
                out[key] = day.isoformat() if day else None
        elif self.kind == "weekdays":
            out = {"type": "weekdays", "days": [d for d in WEEKDAYS if d in self.days]}
        else:
            out = {"type": "calendar", "days": self.kind}
        out["windows"] = windows
        return out

    def summary(self) -> str:
        if self.kind == "period":
            what = f"{self.start.strip() or '…'} – {self.end.strip() or '…'}"
        elif self.kind == "weekdays":
            what = weekdays_text(self.days) or tr("win.no_days")
        else:
            what = tr(f"win.rule.{self.kind}")
        try:
            hours = format_hours(parse_hours(self.hours))
        except ValueError:
            hours = self.hours.strip()  # as typed: the form marks it
        return f"{what}, {hours}" if hours else f"{what}, {tr('win.all_day')}"


@dataclass
class DeviceForm:
    id: str
    kind: str          # sip | external
    address: str
    active: bool
    timeout: str       # as typed; "0" rings until answered
    scheduled: bool
    rules: list[RuleForm] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> DeviceForm:
        schedule = data.get("schedule")
        return cls(id=data["id"], kind=data["kind"], address=data["address"], active=bool(data["active"]),
                   timeout=str(data["ring_timeout_s"]), scheduled=schedule is not None,
                   rules=[RuleForm.from_json(r) for r in (schedule or {}).get("rules", [])])

    @property
    def label(self) -> str:
        return device_label(self.kind, self.address)

    def timeout_text(self) -> str:
        seconds = parse_timeout(self.timeout)
        if seconds is None:
            return self.timeout
        return tr("win.forever") if seconds == 0 else tr("win.seconds", seconds=seconds)

    def schedule_parts(self) -> list[str]:
        """The schedule in words, a part per rule."""
        if not self.scheduled:
            return [tr("win.always")]
        return [r.summary() for r in self.rules] or [tr("win.no_rules")]

    def schedule_text(self) -> str:
        return "; ".join(self.schedule_parts())


def fit_rules(parts: list[str], fits) -> str:
    """A schedule's words for a narrow place: every rule if they fit (`fits(text)`), else as many
    whole rules as fit and how many more — never a rule cut in half (issue 14: «Когда» showed
    the first rule, cut off). The whole text goes into a tooltip beside it."""
    whole = "; ".join(parts)
    if fits(whole):
        return whole
    for shown in range(len(parts) - 1, 0, -1):
        text = "; ".join(parts[:shown] + [tr("win.more_rules", n=len(parts) - shown)])
        if fits(text):
            return text
    return tr("win.rules_count", n=len(parts))


def device_label(kind: str, address: str) -> str:
    return tr("pbx.device_sip" if kind == "sip" else "pbx.device_external", address=address)


@dataclass
class SchemeForm:
    mode: str
    timezone: str
    devices: list[DeviceForm]

    @classmethod
    def from_json(cls, data: dict) -> SchemeForm:
        devices = sorted(data.get("devices") or [], key=lambda d: d.get("position", 0))
        return cls(mode=data["mode"], timezone=data["timezone"], devices=[DeviceForm.from_json(d) for d in devices])

    def to_json(self) -> dict:
        """The scheme to PUT, positions in the form's order; FormInvalid if a value cannot be
        sent at all (a timeout that is no number, a date or an hour that cannot be read).
        Everything else the PBX checks, and its answer comes back next to the fields."""
        problems: dict[Path, str] = {}
        devices = []
        for i, d in enumerate(self.devices):
            at = ("devices", i)
            timeout = parse_timeout(d.timeout)
            if timeout is None:
                problems[at + ("ring_timeout_s",)] = tr("win.bad_timeout", max=MAX_RING_TIMEOUT_S)
            schedule = None
            if d.scheduled:
                schedule = {"rules": [r.to_json(at + ("schedule", "rules", j), problems)
                                      for j, r in enumerate(d.rules)]}
            devices.append({"id": d.id, "kind": d.kind, "address": d.address, "active": d.active,
                            "position": i + 1, "ring_timeout_s": timeout, "schedule": schedule})
        if problems:
            raise FormInvalid(problems)
        return {"mode": self.mode, "timezone": self.timezone.strip(), "devices": devices}

    def main_index(self) -> int | None:
        """The main number in "only the main number": the first active device (None in the
        other modes, or when none is active)."""
        if self.mode != "main_only":
            return None
        return next((i for i, d in enumerate(self.devices) if d.active), None)

    def move(self, index: int, delta: int) -> int:
        """Move a device up (-1) or down (+1) in the order; its new index."""
        new = index + delta
        if 0 <= index < len(self.devices) and 0 <= new < len(self.devices):
            self.devices[index], self.devices[new] = self.devices[new], self.devices[index]
            return new
        return index

    def add_number(self, number_e164: str) -> int:
        """Append an external number (E.164) as an active device; its index."""
        base = "ext-" + number_e164.lstrip("+")
        taken = {d.id for d in self.devices}
        device_id, n = base, 2
        while device_id in taken:
            device_id, n = f"{base}-{n}", n + 1
        self.devices.append(DeviceForm(device_id, "external", number_e164, True, "30", False))
        return len(self.devices) - 1

    def hints(self) -> dict[Path, str]:
        """What the form says while you edit, before anything is sent: the ring-forever trap of
        "in turn", and schedules the PBX would refuse."""
        out: dict[Path, str] = {}
        if self.mode == "in_turn":
            active = [(i, d) for i, d in enumerate(self.devices) if d.active]
            for n, (i, d) in enumerate(active):
                later = [x.label for _, x in active[n + 1:]]
                if parse_timeout(d.timeout) == 0 and later:
                    out[("devices", i, "ring_timeout_s")] = tr("win.forever_blocks", devices=", ".join(later))
                    break  # the devices after it are never reached, whatever they say
        for i, d in enumerate(self.devices):
            seconds = parse_timeout(d.timeout)
            if seconds is not None and seconds > MAX_RING_TIMEOUT_S:
                out[("devices", i, "ring_timeout_s")] = tr("win.bad_timeout", max=MAX_RING_TIMEOUT_S)
            if d.scheduled and not d.active:
                out[("devices", i, "schedule")] = tr("problem.schedule_on_inactive_device")
            elif d.scheduled and not d.rules:
                out[("devices", i, "schedule")] = tr("problem.empty_schedule")
        return out


def normalise_number(text: str, region: str) -> str:
    """An external number as the scheme keeps it (E.164), or ValueError with the sentence
    `talker --callto` would say."""
    from common import dialstring

    target = dialstring.parse(text)  # InvalidTarget is a ValueError
    if target.is_name:
        raise ValueError(tr("target.no_digits", target=text.strip()))
    number = dialstring.normalise(target, region)
    if not number.startswith("+"):
        raise ValueError(tr("win.not_full_number", number=text.strip()))
    return number


def weekdays_text(days: set[str]) -> str:
    """{'mon','tue','wed','thu','fri','sun'} → 'Mon–Fri, Sun'."""
    picked = [i for i, d in enumerate(WEEKDAYS) if d in days]
    runs: list[list[int]] = []
    for i in picked:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    name = lambda i: tr(f"win.day.{WEEKDAYS[i]}")  # noqa: E731
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{name(run[0])}–{name(run[-1])}")
        else:
            parts.extend(name(i) for i in run)
    return ", ".join(parts)


# --- the PBX's answers -------------------------------------------------------------------------------
def problem_text(problem: dict) -> str:
    """One of the PBX's field problems, in the user's language when we know its code (the
    codes are stable; the PBX's own sentences are English)."""
    code = str(problem.get("code") or "")
    key = f"problem.{code}"
    if has_text(key):
        return tr(key)
    return tr("problem.other")  # the PBX's own sentence is English: never shown as it is


def top_field(path: Path) -> Path:
    """For flat forms (contact, employee): the field is the first step of the path."""
    return tuple(path[:1])


def field_problems(body: object, locate=widget_key) -> dict[Path, list[str]]:
    """error.fields of a 4xx body, grouped by the form field that shows them (`locate` maps a
    problem's path to that field: the scheme's `widget_key`, or `top_field`)."""
    out: dict[Path, list[str]] = {}
    error = (body or {}).get("error") if isinstance(body, dict) else None
    for problem in (error or {}).get("fields") or []:
        path = parse_path(str(problem.get("field", "")))
        key = locate(path)
        text = problem_text(problem)
        if len(path) > len(key) and key[-1:] == ("windows",) and isinstance(path[len(key)], int):
            text = tr("win.window_n", n=path[len(key)] + 1, text=text)
        out.setdefault(key, []).append(text)
    # A 409 names its field only in its code ("extension_taken").
    code = str((error or {}).get("code") or "")
    if not out and code.endswith("_taken"):
        out[(code.removesuffix("_taken"),)] = [failures.refusal(409, body)]
    return out


def api_failure(status: int, body: object) -> str:
    """The sentence for a PBX answer that is not a success."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if status == 403:
        return tr("win.forbidden")
    if status == 412:
        return tr("win.changed_meanwhile")
    if status == 422 and (error or {}).get("fields"):
        return tr("win.not_accepted")
    return failures.refusal(status, body)


def where(path: Path, form: SchemeForm | None) -> str:
    """'Device 2 (Number +7…), rule 1' for the summary of problems."""
    if not path:
        return ""
    if path[0] == "mode":
        return tr("win.mode")
    if path[0] == "timezone":
        return tr("win.timezone")
    parts = []
    if len(path) >= 2 and isinstance(path[1], int):
        label = form.devices[path[1]].label if form and path[1] < len(form.devices) else ""
        parts.append(tr("win.where_device", n=path[1] + 1, label=label))
    if len(path) >= 5 and isinstance(path[4], int):
        parts.append(tr("win.where_rule", n=path[4] + 1))
    return ", ".join(parts)


# --- the ring-plan preview --------------------------------------------------------------------------
def describe_plan(plan: dict, labels: dict[str, str]) -> list[tuple[str, str]]:
    """The preview as (style, line) pairs: a heading, who rings (and how), who does not and why.
    Styles: head, ring, off, none."""
    lines: list[tuple[str, str]] = []
    when = _local_time_text(plan.get("local_time", ""))
    day = tr("win.working_day") if plan.get("working_day") else tr("win.day_off")
    lines.append(("head", tr("win.plan_at", when=when, zone=plan.get("timezone", ""), day=day)))
    name = lambda d: labels.get(d["id"]) or device_label(d["kind"], d["address"])  # noqa: E731
    limit = plan.get("max_ring_s", "?")
    how = lambda d: tr("win.rings_forever", limit=d.get("limit_s", limit)) if d["timeout_s"] == 0 else \
        tr("win.rings_for", seconds=d["timeout_s"])  # noqa: E731
    notices = {n.get("code"): n for n in plan.get("notices") or []}
    if "nonexistent_local_time" in notices:
        n = notices["nonexistent_local_time"]
        lines.append(("none", tr("win.plan_moved", asked=n.get("asked", "").replace("T", " "),
                                 zone=plan.get("timezone", ""), time=when[-5:])))
    if "calendar_year_missing" in notices:
        lines.append(("none", tr("win.plan_no_calendar", year=notices["calendar_year_missing"].get("year", ""))))
    steps = plan.get("steps") or []
    if not steps:
        lines.append(("none", tr("win.plan_nobody", status=plan.get("caller_hears") or 480)))
    elif len(steps) == 1 and steps[0]["parallel"] and len(steps[0]["devices"]) > 1:
        lines.append(("ring", tr("win.plan_together")))
        for d in steps[0]["devices"]:
            lines.append(("ring", f"   • {name(d)} — {how(d)}"))
    else:
        for n, step in enumerate(steps, 1):
            for d in step["devices"]:
                lines.append(("ring", f"{n}. {name(d)} — {how(d)}"))
    excluded = plan.get("excluded") or []
    if excluded:
        lines.append(("head", tr("win.plan_silent")))
        for d in excluded:
            reason = d.get("reason", "")
            why = tr(f"reason.{reason}") if has_text(f"reason.{reason}") else d.get("why", reason)
            after = next((r for s in steps for r in s["devices"] if r["id"] == d.get("after")), None)
            if reason == "after_forever" and after is not None:
                why = tr("reason.after_forever_named", name=name(after))
            lines.append(("off", f"   • {name(d)}: {why}"))
    return lines


def _local_time_text(iso: str) -> str:
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{tr('win.day.' + WEEKDAYS[t.weekday()])} {t.strftime(date_format())} {t:%H:%M}"


def plan_query(text: str, timezone: str) -> str:
    """The ?at= of GET …/ringplan for a local 'YYYY-MM-DD HH:MM' in the scheme's zone; '' for
    now. ValueError with a sentence if the moment cannot be read. The time goes without an
    offset: the PBX reads it in the scheme's zone and says so when the clocks skip it."""
    text = (text or "").strip()
    if not text:
        return ""
    m = re.fullmatch(r"(\S+)\s+(\S+)", text)
    day = parse_date(m[1]) if m else None
    clock = parse_time(m[2]) if m else None
    if day is None or clock is None:
        raise ValueError(tr("win.bad_moment", text=text))
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(tr("problem.bad_timezone")) from None
    del zone  # checked only: the PBX applies it
    hour, minute = map(int, clock.split(":"))
    return "?at=" + dt.datetime.combine(day, dt.time(hour, minute)).isoformat(timespec="seconds")


# --- the other forms --------------------------------------------------------------------------------
def required(values: dict[str, str], names: tuple[str, ...]) -> dict[Path, str]:
    """A hint under every required field left empty."""
    return {(n,): tr("win.required") for n in names if not (values.get(n) or "").strip()}


def optional(value: str) -> str | None:
    value = (value or "").strip()
    return value or None


def short_time(at: str, now: dt.datetime | None = None) -> str:
    """When a call came, as short as is clear: the local time today, the date and time before."""
    try:
        when = dt.datetime.fromisoformat(at).astimezone()
    except (ValueError, TypeError):
        return ""
    now = (now or dt.datetime.now(dt.UTC)).astimezone()
    return when.strftime("%H:%M" if when.date() == now.date() else date_format() + " %H:%M")


def about_caller(info: dict) -> list[str]:
    """What the incoming-call window and its notification say besides the name (the app's
    `caller_info`): where the number is known from (with the contact's note), and the last call
    with it, with the note typed on it."""
    lines = []
    source = info.get("source")
    if source:
        line = tr(f"about.{source}")
        if info.get("contact_note"):
            line += f" — {info['contact_note']}"
        lines.append(line)
    else:
        lines.append(tr("about.unknown"))
    last = info.get("last_call")
    if last:
        kind = last.get("kind") or "in"
        words = tr("win.recent.out_failed", reason=history.failure(last)) if kind == "out_failed" \
            else tr(f"win.recent.{kind}")
        lines.append(tr("about.last_call", when=short_time(last.get("at") or ""), kind=words))
        if last.get("note"):
            lines.append(tr("about.note", note=last["note"]))
    return lines


def recent_row(entry: dict) -> tuple[str, str, str]:
    """A recent call as the dial window lists it: what kind, who, when (local time)."""
    kind = history.kind(entry)
    kind = (tr("win.recent.out_failed", reason=history.failure(entry)) if kind == "out_failed"
            else tr(f"win.recent.{kind}"))
    name, number = entry.get("name") or "", entry.get("number") or ""
    who = f"{name} ({number})" if name and name != number else number
    try:
        when = dt.datetime.fromisoformat(entry.get("at", "")).astimezone().strftime(date_format() + " %H:%M")
    except (ValueError, TypeError):
        when = ""
    return kind, who, when


class AudioChoices:
    """One role's choice of sound device (the app's `audio_devices` reply for it), as a list of
    labels: the OS default first, then each device by its description, and a chosen device that
    is unplugged now (it is used again once it is back). Two devices with one description are
    told apart by their names, so each label picks exactly one device."""

    def __init__(self, role_state: dict):
        devices = role_state.get("devices") or []
        counts: dict[str, int] = {}
        for d in devices:
            counts[d["description"]] = counts.get(d["description"], 0) + 1
        self.choices: list[tuple[str, str | None]] = [(tr("audio.system_default"), None)]
        for d in devices:
            label = d["description"] if counts[d["description"]] == 1 else f"{d['description']} ({d['name']})"
            self.choices.append((label, d["name"]))
        self.chosen: str | None = role_state.get("device")
        if self.chosen is not None and not any(name == self.chosen for _, name in self.choices):
            self.choices.append((tr("audio.absent", device=self.chosen), self.chosen))

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.choices]

    @property
    def chosen_label(self) -> str:
        return next(label for label, name in self.choices if name == self.chosen)

    def name_for(self, label: str) -> str | None:
        """The device a label stands for; KeyError for a label not on the list."""
        for text, name in self.choices:
            if text == label:
                return name
        raise KeyError(label)
