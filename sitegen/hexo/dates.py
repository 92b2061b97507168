"""Dates as Hexo reads them from front matter, and moment.js-style formatting.

Every result is an aware datetime in the SITE time zone. A value without an
offset is a wall-clock time in the site zone; a value with an offset keeps
its instant. The machine's own zone is never consulted.

Deliberate differences from Hexo 8 (which reads through JavaScript's Date on
the build machine's zone):
- an explicit offset in a YAML timestamp (`2021-01-01T12:00:00+02:00`) keeps
  its instant; Hexo 8 (hexo-front-matter 4) re-reads its UTC wall-clock in
  the site zone;
- a quoted date-only string (`"2021-10-11"`) is midnight in the site zone,
  as the unquoted form is; JavaScript would read it as UTC midnight;
- impossible dates (`2021-02-30`) are errors instead of rolling over.
Numbers are milliseconds since the Unix epoch, as `new Date(number)` reads
them in Hexo.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import zoneinfo
from functools import lru_cache

UTC = _dt.UTC
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)

_ISO = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:(?:[Tt]|\s+)(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:[.,](?P<f>\d+))?)?"
    r"\s*(?P<z>[Zz]|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_CLOCK = r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
_ZONE = r"(?:\s*(?P<z>[A-Za-z]{1,5}(?:[+-]\d{2}:?\d{2})?|[+-]\d{2}:?\d{2}))?(?:\s*\([^)]*\))?"
# RFC 2822: "Mon, 11 Oct 2021 07:53:00 GMT" (weekday optional, ignored).
_RFC2822 = re.compile(
    r"(?:[A-Za-z]+,?\s+)?(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+)\.?,?\s+(?P<y>\d{2}|\d{4})"
    + _CLOCK + _ZONE,
    re.ASCII,
)
# The US / JavaScript toString form: "Oct 11, 2021 07:53", "Mon Oct 11 2021 07:53:00 GMT+0800".
_US = re.compile(
    r"(?:[A-Za-z]+,?\s+)?(?P<mon>[A-Za-z]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
    + _CLOCK + _ZONE,
    re.ASCII,
)
_MONTHS = {
    name: i
    for i, full in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"],
        start=1,
    )
    for name in (full, full[:3])
}
_MONTHS["sept"] = 9
_NAMED_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
}
_EXAMPLES = "2021-10-11 07:53:00, 2021-10-11T07:53:00+08:00 or Mon, 11 Oct 2021 07:53:00 GMT"


def site_timezone(name: str | None) -> _dt.tzinfo:
    """The zone named in the site config; none given means UTC.

    Names match case-insensitively, as in moment-timezone.
    """
    if name is None or not str(name).strip():
        return UTC
    name = str(name).strip()
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    canonical = _zone_names().get(name.lower())
    if canonical is None:
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as Asia/Shanghai)")
    return zoneinfo.ZoneInfo(canonical)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {n.lower(): n for n in zoneinfo.available_timezones()}


def parse_date(value: object, tz: _dt.tzinfo) -> _dt.datetime:
    """Read a front-matter date; returns an aware datetime in `tz`."""
    if isinstance(value, _dt.datetime):
        return _localise(value, tz)
    if isinstance(value, _dt.date):
        return _localise(_dt.datetime(value.year, value.month, value.day), tz)
    if isinstance(value, bool):
        # ValueError, not TypeError: callers report every unreadable date the same way.
        raise ValueError(  # noqa: TRY004
            f"cannot read date {value!r}: expected a date, not true/false")
    if isinstance(value, (int, float)):
        return _from_milliseconds(value, tz)
    if isinstance(value, str):
        return _parse_text(value.strip(), tz)
    raise ValueError(f"cannot read date {value!r}: expected text such as {_EXAMPLES}")


def _localise(value: _dt.datetime, tz: _dt.tzinfo) -> _dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
        # A round trip through UTC moves wall-clock times in a DST gap onto real times.
        return value.astimezone(UTC).astimezone(tz)
    return value.astimezone(tz)


def _from_milliseconds(value: float, tz: _dt.tzinfo) -> _dt.datetime:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot read date {value!r}: not a finite number")
    try:
        return (_EPOCH + _dt.timedelta(milliseconds=value)).astimezone(tz)
    except OverflowError:
        raise ValueError(f"cannot read date {value!r}: out of range") from None


def _parse_text(text: str, tz: _dt.tzinfo) -> _dt.datetime:
    m = _ISO.fullmatch(text)
    if m:
        return _build(text, tz, int(m["y"]), int(m["mo"]), int(m["d"]), m)
    for pattern in (_RFC2822, _US):
        m = pattern.fullmatch(text)
        if m and m["mon"].lower() in _MONTHS:
            year = int(m["y"])
            if len(m["y"]) == 2:
                year += 2000 if year < 50 else 1900
            return _build(text, tz, year, _MONTHS[m["mon"].lower()], int(m["d"]), m)
    raise ValueError(f"cannot read date {text!r}: expected e.g. {_EXAMPLES}")


def _build(text: str, tz: _dt.tzinfo, year: int, month: int, day: int,
           m: re.Match[str]) -> _dt.datetime:
    fraction = (m["f"] or "")[:6].ljust(6, "0")
    try:
        zone = _offset(m["z"]) if m["z"] else None
        value = _dt.datetime(year, month, day, int(m["H"] or 0), int(m["M"] or 0),
                             int(m["S"] or 0), int(fraction), tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"cannot read date {text!r}: {exc}") from None
    return _localise(value, tz)


_OFFSET = re.compile(r"([A-Za-z]*)(?:([+-])(\d{1,2}):?(\d{2})?)?")


@lru_cache(maxsize=256)  # an archive uses a handful of zones; timezone objects are immutable
def _offset(zone: str) -> _dt.tzinfo:
    """A fixed zone for `Z`, `GMT`, `EST`, `+0800`, `+08:00`, `+8` or `GMT+0800`."""
    m = _OFFSET.fullmatch(zone)
    if not m:
        raise ValueError(f"unknown offset {zone!r}")
    name, sign, hours, minutes = m.groups()
    if name and name.lower() not in _NAMED_ZONES:
        raise ValueError(f"unknown time zone abbreviation {name!r}")
    total = _NAMED_ZONES.get(name.lower(), 0) if name else 0
    if sign:
        delta = int(hours) * 60 + int(minutes or 0)
        total += delta if sign == "+" else -delta
    if abs(total) >= 24 * 60:
        raise ValueError(f"offset {zone!r} is out of range")
    return _dt.timezone(_dt.timedelta(minutes=total))


# --- moment.js-style formatting -------------------------------------------------

_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
_DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
# moment's English long-date shortcuts, expanded before formatting.
_LONG_FORMATS = {
    "LTS": "h:mm:ss A", "LT": "h:mm A", "L": "MM/DD/YYYY", "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A", "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY", "ll": "MMM D, YYYY", "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}
_TOKEN = re.compile(
    r"\[[^\[]*\]|\\.|LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l"
    r"|MMMM|MMM|MM|M|Do|DDDD|DDD|DD|D|dddd|ddd|dd|d|E|YYYY|YY|Q"
    r"|HH|H|hh|h|mm|m|ss|s|S{1,9}|A|a|ZZ|Z|X|x|.",
    re.DOTALL,
)


def format_moment(value: _dt.datetime, fmt: str) -> str:
    """Format an aware datetime with moment.js tokens (English names).

    Supported: YYYY YY Q M MM MMM MMMM D DD Do DDD DDDD d dd ddd dddd E
    H HH h hh m mm s ss S..SSSSSSSSS A a Z ZZ X x, the long forms L LL LLL
    LLLL LT LTS l ll lll llll, `[literal]` and backslash escapes. Other
    characters are copied as they are, as moment does.
    """
    return "".join(_render(token, value) for token in _TOKEN.findall(fmt))


def _render(token: str, v: _dt.datetime) -> str:
    if token.startswith("["):
        return token[1:-1]
    if token.startswith("\\") and len(token) == 2:
        return token[1]
    if token in _LONG_FORMATS:
        return format_moment(v, _LONG_FORMATS[token])
    if token[0] == "S":
        return f"{v.microsecond:06d}".ljust(len(token), "0")[: len(token)]
    simple = _SIMPLE.get(token)
    return simple(v) if simple else token


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _zone(v: _dt.datetime, sep: str) -> str:
    offset = v.utcoffset() or _dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{sep}{mins:02d}"


def _unix_ms(v: _dt.datetime) -> int:
    # Exact integer arithmetic: float timestamps can round 999999 µs up a second.
    delta = v - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


_SIMPLE = {
    "YYYY": lambda v: f"{v.year:04d}",
    "YY": lambda v: f"{v.year % 100:02d}",
    "Q": lambda v: str((v.month - 1) // 3 + 1),
    "MMMM": lambda v: _MONTH_NAMES[v.month - 1],
    "MMM": lambda v: _MONTH_NAMES[v.month - 1][:3],
    "MM": lambda v: f"{v.month:02d}",
    "M": lambda v: str(v.month),
    "DDDD": lambda v: f"{v.timetuple().tm_yday:03d}",
    "DDD": lambda v: str(v.timetuple().tm_yday),
    "DD": lambda v: f"{v.day:02d}",
    "D": lambda v: str(v.day),
    "Do": lambda v: _ordinal(v.day),
    "dddd": lambda v: _DAY_NAMES[v.isoweekday() % 7],
    "ddd": lambda v: _DAY_NAMES[v.isoweekday() % 7][:3],
    "dd": lambda v: _DAY_NAMES[v.isoweekday() % 7][:2],
    "d": lambda v: str(v.isoweekday() % 7),
    "E": lambda v: str(v.isoweekday()),
    "HH": lambda v: f"{v.hour:02d}",
    "H": lambda v: str(v.hour),
    "hh": lambda v: f"{v.hour % 12 or 12:02d}",
    "h": lambda v: str(v.hour % 12 or 12),
    "mm": lambda v: f"{v.minute:02d}",
    "m": lambda v: str(v.minute),
    "ss": lambda v: f"{v.second:02d}",
    "s": lambda v: str(v.second),
    "A": lambda v: "AM" if v.hour < 12 else "PM",
    "a": lambda v: "am" if v.hour < 12 else "pm",
    "ZZ": lambda v: _zone(v, ""),
    "Z": lambda v: _zone(v, ":"),
    "X": lambda v: str(_unix_ms(v) // 1000),
    "x": lambda v: str(_unix_ms(v)),
}


def unix_seconds(value: _dt.datetime) -> int:
    """Whole seconds since the epoch, rounded down like moment's `unix()`."""
    return _unix_ms(value) // 1000
