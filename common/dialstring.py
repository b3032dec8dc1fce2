"""What may be dialed: one definition for `talker --callto`, links, the dial field and the browser.

A link or an argument can only ever mean "dial this number". `parse()` takes the text a user
gave (a bare number, `tel:`, `callto:`, `sip:`/`sips:`) and returns the number, or raises
InvalidTarget with one readable sentence. It is standard-library only, because the
`talker --callto` path runs it before anything else. `normalise()` turns a parsed number into
the dial string the PBX expects (E.164 for phone numbers, digits for extensions); it needs
`phonenumbers` and runs in the app.

Refused: empty input; anything starting with "-"; control and format characters; `?` headers;
`;` parameters other than RFC 3966's `ext` and `phone-context`; more than MAX_DIGITS digits; a
number with letters, or with a "+" anywhere but at its start; letters alone, unless they are a
name the PBX publishes (the app checks); a local number whose `phone-context` is a domain name
(RFC 3966 §5.1.5: only that domain's own dial plan knows what it means) or not a context at all.

A local number with a global `phone-context` (`tel:7946-0958;phone-context=+44-20`) is that
context's number: the context's digits come first (+442079460958).
"""

from __future__ import annotations

MAX_INPUT_CHARS = 256
MAX_DIGITS = 32
# Numbers this short are PBX extensions or service codes, dialed as they are.
MAX_EXTENSION_DIGITS = 6
DEFAULT_REGION = "RU"

ALLOWED_PARAMETERS = ("ext", "phone-context")
SCHEMES = ("tel", "callto", "sip", "sips")

# Visual separators of RFC 3966 §5.1.1 and the ones people type.
# Character classes as sets, not regular expressions: importing `re` (and the `enum` it pulls in)
# would cost `talker --callto` more than all the rest of its work.
_SEPARATORS = frozenset("-.()/\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_DIGITS = frozenset("0123456789")
_DIAL_CHARS = _DIGITS | frozenset("*#")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_NAME_CHARS = _LOWER | _DIGITS | frozenset("_.-")
_PARAM_CHARS = _LOWER | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ") | _DIGITS | frozenset("+-.*#()")
_HEX = frozenset("0123456789abcdefABCDEF")


def _strip_separators(text: str) -> str:
    return "".join(c for c in text if c not in _SEPARATORS and not c.isspace())


def _is_number(text: str) -> bool:
    """`+?[0-9*#]+`"""
    body = text[1:] if text.startswith("+") else text
    return bool(body) and all(c in _DIAL_CHARS for c in body)


def _is_name(text: str) -> bool:
    """`[a-z][a-z0-9_.-]{0,31}`"""
    return 0 < len(text) <= 32 and text[0] in _LOWER and all(c in _NAME_CHARS for c in text)


class InvalidTarget(ValueError):
    """Not something Talker will dial. `code` is the control-channel error code."""

    code = "invalid_number"

    def __init__(self, key: str, **params: object):
        from common.i18n import tr  # the texts load only when a sentence is needed

        super().__init__(tr(key, **params))
        self.key = key

    def may_be_a_persons_name(self, raw: str) -> bool:
        """Letters with no scheme and no digits («Борис», "Boris Petrov") are no dial string but
        may be a colleague's or a contact's name, which only the app knows."""
        return self.key == "target.no_digits" and ":" not in raw and any(c.isalpha() for c in raw)


class DialTarget:
    """A parsed dial target. A plain class, not a dataclass: `dataclasses` pulls in `inspect`,
    which would cost the `talker --callto` path more than everything else it imports."""

    __slots__ = ("number", "is_name", "extension")

    def __init__(self, number: str, is_name: bool = False, extension: str | None = None):
        self.number = number            # "+74951234567", "84951234567", "102", "*43", or a name
        self.is_name = is_name          # letters only: valid only if the PBX knows the name
        self.extension = extension      # RFC 3966 "ext": dialed as DTMF once the call connects

    def _key(self) -> tuple[str, bool, str | None]:
        return (self.number, self.is_name, self.extension)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DialTarget) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"DialTarget(number={self.number!r}, is_name={self.is_name}, extension={self.extension!r})"


def _unquote(text: str) -> str:
    """RFC 3986 percent-decoding as UTF-8. Undecodable bytes become U+FFFD, which is then
    refused as not a digit; a "%" not followed by two hex digits stays as it is."""
    if "%" not in text:
        return text
    raw = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%" and i + 2 < len(text) and text[i + 1] in _HEX and text[i + 2] in _HEX:
            raw.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            raw += c.encode("utf-8")
            i += 1
    return raw.decode("utf-8", "replace")


def _check_characters(text: str) -> None:
    if text.isascii():
        # ASCII's only such characters are the C0 controls and DEL: the Unicode database (a shared
        # library to load) is for other text.
        if any(ch < " " or ch == "\x7f" for ch in text):
            raise InvalidTarget("target.control")
        return
    import unicodedata

    for ch in text:
        # Cc: C0/C1 controls; Cf: format characters such as bidi overrides that hide text.
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in " ":
            raise InvalidTarget("target.control")


def parse(raw: str) -> DialTarget:
    if not isinstance(raw, str):
        raise InvalidTarget("target.empty")
    if len(raw) > MAX_INPUT_CHARS:
        raise InvalidTarget("target.too_long")
    _check_characters(raw)
    text = raw.strip()
    if not text:
        raise InvalidTarget("target.empty")
    if text.startswith("-"):
        raise InvalidTarget("target.option", target=_shorten(text))

    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if sep and scheme in SCHEMES:
        if "?" in rest:
            raise InvalidTarget("target.headers")
        rest = _unquote(rest)
        _check_characters(rest)
        if "?" in rest:
            raise InvalidTarget("target.headers")
        if scheme == "callto":
            rest = rest.removeprefix("//")
        if scheme in ("sip", "sips"):
            user, params = _split_sip(rest)
        else:
            user, params = _split_params(rest)
    else:
        if "?" in text:
            raise InvalidTarget("target.headers")
        user, params = _split_params(text)

    extension = params.get("ext")
    number = _ascii_digits(_strip_separators(user))
    if not number:
        raise InvalidTarget("target.empty")
    has_digits = any(c in _DIGITS for c in number)
    if not has_digits and _is_name(number.lower()):
        return DialTarget(number.lower(), is_name=True)
    if not has_digits:
        raise InvalidTarget("target.no_digits", target=_shorten(user))
    if not _is_number(number):
        bad = _misplaced(number)
        if bad == "+":
            raise InvalidTarget("target.plus_inside", target=_shorten(user))
        raise InvalidTarget("target.bad_characters", target=_shorten(user), char=bad)
    context = params.get("phone-context")
    if context is not None and not number.startswith("+"):
        number = _in_context(number, context)
    if sum(c in _DIGITS for c in number) > MAX_DIGITS:
        raise InvalidTarget("target.too_many_digits", max=MAX_DIGITS)
    if extension is not None:
        extension = _ascii_digits(_strip_separators(extension))
        if not extension or not set(extension) <= _DIGITS or len(extension) > MAX_DIGITS:
            raise InvalidTarget("target.parameter", param="ext")
    return DialTarget(number, extension=extension)


def _misplaced(number: str) -> str:
    """The first character that keeps `number` from being `+?[0-9*#]+` (the caller knows there is one)."""
    for i, c in enumerate(number):
        if c not in _DIAL_CHARS and not (c == "+" and i == 0):
            return c
    return number[:1]


def _in_context(local: str, context: str) -> str:
    """RFC 3966 §5.1.5: a local number is dialed within its `phone-context`. A global context
    (`+` and digits, with visual separators) is the prefix that makes it a global number. A
    domain name's dial plan is not ours to guess, so that number is refused (and so is a context
    that is neither). A context on a number that is global already changes nothing: the caller
    does not ask for it."""
    digits = _ascii_digits(_strip_separators(context))
    # A service code (*21#) means something only to the PBX it is dialed on: no prefix makes it global.
    if digits.startswith("+") and len(digits) > 1 and set(digits[1:]) <= _DIGITS and set(local) <= _DIGITS:
        return digits + local
    raise InvalidTarget("target.context", target=_shorten(local), context=_shorten(context, 24))


def _ascii_digits(text: str) -> str:
    """Full-width and other script digits (Unicode Nd) become 0-9; "²" and the like do not."""
    if text.isascii():
        return text  # ASCII's only Nd characters are 0-9 already
    import unicodedata

    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text)


def _split_params(text: str) -> tuple[str, dict[str, str]]:
    head, *params = text.split(";")
    found: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        name = name.strip().lower()
        if (name not in ALLOWED_PARAMETERS or name in found or len(value) > 64
                or not all(c in _PARAM_CHARS for c in value)):
            raise InvalidTarget("target.parameter", param=_shorten(name or param, 24))
        found[name] = value
    return head, found


def _split_sip(text: str) -> tuple[str, dict[str, str]]:
    """`102@host`, `+7495...;ext=1@host;...`: only the user part is kept, the host is ours."""
    userinfo, at, hostpart = text.rpartition("@")
    if not at:
        userinfo, hostpart = text, ""
    user, params = _split_params(userinfo)
    # URI parameters after the host (";transport=", ";method=", ...) are refused as well:
    # a link may not steer how or where the call goes.
    _, host_params = _split_params(hostpart)
    for name, value in host_params.items():
        if name in params:
            raise InvalidTarget("target.parameter", param=name)
        params[name] = value
    user = user.split(":", 1)[0]  # a "user:password" never reaches the dial string
    return user, params


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise(target: DialTarget, region: str = DEFAULT_REGION) -> str:
    """The dial string for the PBX: E.164 for phone numbers, as typed for extensions/codes."""
    number = target.number
    if target.is_name:
        return number
    if "*" in number or "#" in number:
        return number  # a service code (*43, *21#): the PBX interprets it
    if not number.startswith("+") and len(number) <= MAX_EXTENSION_DIGITS:
        return number
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidTarget("target.impossible", target=number, region=region.upper()) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidTarget("target.impossible", target=number, region=region.upper())
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
