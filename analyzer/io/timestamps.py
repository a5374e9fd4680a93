"""The one timestamp parser of every input: messages, events, customers, imports, the API.

Accepted (each value on its own, so one file may mix them):

- ISO 8601, with ``T`` or a space, with or without seconds, fractions and an offset
  (``2024-05-01T10:30:00Z``, ``2024-05-01 10:30:00 +0200``, ``2024-05-01``);
- day-first dates as written in Spain and Latin America: ``01/05/2024``, ``1-5-24``,
  ``01.05.2024 10:30``, ``01/05/2024, 10:30:15``, with ``a. m.``/``p. m.``/``AM``/``PM`` clocks;
  month-first (US) when asked (:attr:`TimestampPolicy.dayfirst` False). An ambiguous date is
  never guessed per value: the policy decides, the same for the whole input;
- year-first with slashes or dots (``2024/05/01``);
- month names in Spanish or English (``1 de mayo de 2024``, ``May 1, 2024``, ``01-may-2024``);
- epoch seconds (9-11 digits, fractions allowed) and epoch milliseconds (12-13 digits), as text
  or as numbers;
- native datetimes (Parquet, Python objects).

A value without an offset is local time in :attr:`TimestampPolicy.timezone` (default UTC) and
converted to UTC. Values outside the supported years (1900-2200 by default) are refused: they
are typos or placeholders (``9999-12-31``), and they would overflow on conversion.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError

__all__ = ["TIMESTAMP_HELP", "TimestampPolicy", "parse_timestamp", "parse_timestamps"]

TIMESTAMP_HELP = ("ISO 8601 (2024-05-01T10:30:00Z), day-first dates (01/05/2024 10:30), "
                  "month names (1 de mayo de 2024), epoch seconds or milliseconds")

_UTC_DTYPE = "datetime64[us, UTC]"
_EPOCH_S = re.compile(r"^\d{9,11}(?:\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")
_CLOCK = r"(?:[ T,]+(\d{1,2})[:.h](\d{2})(?:[:.](\d{2})(?:[.,]\d+)?)?\s*((?:[ap])\.?\s?m\.?)?)?"
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})" + _CLOCK + r"$", re.I)
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})" + _CLOCK + r"$", re.I)
_ISO = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                  r"\s?(?:Z|[+-]\d{2}(?::?\d{2})?)?$", re.I)
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.I)
_SPACE_OFFSET = re.compile(r"\s+([+-]\d{2}(?::?\d{2})?)$")
_MONTHS: dict[str, int] = {}
for _i, _names in enumerate((
        "enero ene january jan", "febrero feb february", "marzo mar march", "abril abr april apr",
        "mayo may", "junio jun june", "julio jul july", "agosto ago august aug",
        "septiembre setiembre sep sept set september", "octubre oct october", "noviembre nov november",
        "diciembre dic december dec"), start=1):
    for _n in _names.split():
        _MONTHS[_n] = _i
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})(?:\s+de\s+|[\s\-/]+)" + _MONTH + r"(?:\s+de\s+|[\s\-/,]+)(\d{4})"
                             + _CLOCK + "$", re.I)
_MONTH_NAME_DAY = re.compile(r"^" + _MONTH + r"\s+(\d{1,2}),?\s+(\d{4})" + _CLOCK + "$", re.I)


@dataclass(frozen=True)
class TimestampPolicy:
    """How ambiguous and naive timestamps are read.

    ``dayfirst``: ``01/05/2024`` is 1 May (True, the default) or 5 January (False).
    ``timezone``: IANA zone of values without an offset (default UTC).
    ``min_year``/``max_year``: the supported range; values outside it are bad timestamps.
    """

    dayfirst: bool = True
    timezone: str = "UTC"
    min_year: int = 1900
    max_year: int = 2200

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {self.timezone!r}; use an IANA name such as "
                              "'Europe/Madrid', 'America/Mexico_City' or 'UTC'.") from exc
        if not 1 <= self.min_year <= self.max_year <= 9998:
            raise ConfigError(f"min_year must be <= max_year within 1..9998; received {self.min_year}, "
                              f"{self.max_year}.")

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return (pd.Timestamp(f"{self.min_year}-01-01", tz="UTC"),
                pd.Timestamp(f"{self.max_year}-12-31 23:59:59.999999", tz="UTC"))


def _clock(groups: pd.DataFrame, h: int, m: int, s: int, ampm: int) -> pd.DataFrame:
    hour = pd.to_numeric(groups[h], errors="coerce").fillna(0).astype(int)
    marker = groups[ampm].fillna("").str.lower().str.replace(r"[\s.]", "", regex=True)
    hour = np.where((marker == "pm") & (hour < 12), hour + 12, np.where((marker == "am") & (hour == 12), 0, hour))
    return pd.DataFrame({"hour": hour, "minute": pd.to_numeric(groups[m], errors="coerce").fillna(0).astype(int),
                         "second": pd.to_numeric(groups[s], errors="coerce").fillna(0).astype(int)},
                        index=groups.index)


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series, clock: pd.DataFrame) -> pd.Series:
    parts = pd.DataFrame({"year": year, "month": month, "day": day, "hour": clock["hour"],
                          "minute": clock["minute"], "second": clock["second"]}, index=year.index)
    bad = ((parts["month"] < 1) | (parts["month"] > 12) | (parts["day"] < 1) | (parts["day"] > 31)
           | (parts["hour"] > 23) | (parts["minute"] > 59) | (parts["second"] > 59))
    parts = parts.where(~bad)
    return pd.to_datetime(parts, errors="coerce")


def _numeric_dates(strings: pd.Series, dayfirst: bool) -> pd.Series:
    g = strings.str.extract(_NUMERIC)
    a, b = pd.to_numeric(g[0]), pd.to_numeric(g[1])
    year = pd.to_numeric(g[2])
    year = year.where(year >= 100, year + 2000)
    day, month = (a, b) if dayfirst else (b, a)
    return _assemble(year, month, day, _clock(g, 3, 4, 5, 6))


def _year_first_dates(strings: pd.Series) -> pd.Series:
    g = strings.str.extract(_YEAR_FIRST)
    return _assemble(pd.to_numeric(g[0]), pd.to_numeric(g[1]), pd.to_numeric(g[2]), _clock(g, 3, 4, 5, 6))


def _month_name_dates(strings: pd.Series) -> pd.Series:
    out = pd.Series(pd.NaT, index=strings.index, dtype="datetime64[ns]")
    g = strings.str.extract(_DAY_MONTH_NAME)
    hit = g[0].notna()
    if hit.any():
        gg = g[hit]
        month = gg[1].str.lower().map(_MONTHS)
        out[hit] = _assemble(pd.to_numeric(gg[2]), month, pd.to_numeric(gg[0]), _clock(gg, 3, 4, 5, 6))
    rest = ~hit
    if rest.any():
        g2 = strings[rest].str.extract(_MONTH_NAME_DAY)
        hit2 = g2[0].notna()
        if hit2.any():
            gg = g2[hit2]
            month = gg[0].str.lower().map(_MONTHS)
            out.loc[gg.index] = _assemble(pd.to_numeric(gg[2]), month, pd.to_numeric(gg[1]), _clock(gg, 3, 4, 5, 6))
    return out


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    """Naive wall-clock times in ``timezone`` -> UTC (an ambiguous autumn hour is read as standard time)."""
    values = pd.to_datetime(naive, errors="coerce")
    if timezone == "UTC":
        return values.dt.tz_localize("UTC")
    local = values.dt.tz_localize(timezone, ambiguous=np.zeros(len(values), dtype=bool),
                                  nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def parse_timestamps(values: pd.Series | list[Any], policy: TimestampPolicy | None = None
                     ) -> tuple[pd.Series, np.ndarray]:
    """Parse timestamps to UTC; returns ``(parsed, bad)``.

    ``parsed`` is ``datetime64[us, UTC]``, NaT where the value is empty or bad; ``bad`` marks the
    non-empty values that are not a date in the supported range. Never raises on a value.
    """
    policy = policy or TimestampPolicy()
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    index = series.index
    out = pd.Series(pd.NaT, index=index, dtype=_UTC_DTYPE)
    n = len(series)
    if n == 0:
        return out, np.zeros(0, dtype=bool)
    lo, hi = policy.bounds
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        s = series if isinstance(dtype, pd.DatetimeTZDtype) else _localize(series, policy.timezone)
        parsed = s.dt.tz_convert("UTC")
        empty = parsed.isna().to_numpy()
    else:
        obj = series.astype(object)
        kind = np.zeros(n, dtype=np.int8)  # 0 empty, 1 number, 2 datetime object, 3 text
        raw = obj.to_numpy()
        for i, v in enumerate(raw):
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, bool | np.bool_):
                kind[i] = 3
            elif isinstance(v, int | float | np.integer | np.floating):
                kind[i] = 1
            elif isinstance(v, dt.datetime | dt.date | np.datetime64):
                kind[i] = 2
            else:
                kind[i] = 3
        parsed = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
        text = pd.Series([_as_text(v) if k == 3 else "" for v, k in zip(raw, kind, strict=True)], index=index,
                         dtype=object)
        kind[(kind == 3) & (text == "").to_numpy()] = 0
        empty = kind == 0
        numbers = pd.Series(np.nan, index=index, dtype=float)
        if (kind == 1).any():
            numbers[kind == 1] = pd.to_numeric(obj[kind == 1], errors="coerce").astype(float)
        is_text = kind == 3
        if is_text.any():
            t = text[is_text]
            s_mask = t.str.match(_EPOCH_S)
            ms_mask = t.str.match(_EPOCH_MS)
            numbers[t.index[s_mask]] = pd.to_numeric(t[s_mask], errors="coerce")
            numbers[t.index[ms_mask]] = pd.to_numeric(t[ms_mask], errors="coerce") / 1000.0
            rest = t[~(s_mask | ms_mask)]
            if len(rest):
                _parse_text(rest, policy, parsed)
        if (kind == 1).any():  # numbers: seconds, or milliseconds when too large for seconds
            nums = numbers[kind == 1]
            numbers[kind == 1] = nums.where(nums.abs() < 1e11, nums / 1000.0)
        has_num = numbers.notna()
        if has_num.any():
            secs = numbers[has_num]
            ok = (secs > lo.timestamp()) & (secs < hi.timestamp())
            parsed[secs.index[ok]] = pd.to_datetime((secs[ok] * 1e6).round().astype("int64"), unit="us", utc=True)
        if (kind == 2).any():
            objs = obj[kind == 2]
            as_dt = pd.Series([pd.Timestamp(v) if _in_years(v, policy) else pd.NaT for v in objs], index=objs.index)
            naive = pd.Series([v if v is not pd.NaT and v.tzinfo is None else pd.NaT for v in as_dt], index=objs.index)
            aware = pd.Series([v if v is not pd.NaT and v.tzinfo is not None else pd.NaT for v in as_dt],
                              index=objs.index)
            if naive.notna().any():
                loc = _localize(naive[naive.notna()], policy.timezone)
                parsed[loc.index] = loc
            if aware.notna().any():
                parsed[aware[aware.notna()].index] = pd.to_datetime(aware[aware.notna()], utc=True)
    parsed = parsed.where((parsed >= lo) & (parsed <= hi))
    out = parsed.astype(_UTC_DTYPE)
    bad = ~empty & out.isna().to_numpy()
    return out, bad


def _in_years(value: Any, policy: TimestampPolicy) -> bool:
    year = getattr(value, "year", None)
    if year is None:
        try:
            year = pd.Timestamp(value).year
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            return False
    return bool(policy.min_year - 1 <= int(year) <= policy.max_year + 1)


def _parse_text(t: pd.Series, policy: TimestampPolicy, parsed: pd.Series) -> None:
    """Parse the text values of ``t`` (not epochs) into ``parsed`` (ns, UTC) in place."""
    iso = t.str.match(_ISO)
    if iso.any():
        s = t[iso].str.replace(_SPACE_OFFSET, r"\1", regex=True)
        offset = s.str.contains(_HAS_OFFSET)
        years = pd.to_numeric(s.str.slice(0, 4), errors="coerce")
        sane = (years >= policy.min_year) & (years <= policy.max_year)
        with_tz = s[offset & sane]
        if len(with_tz):
            parsed[with_tz.index] = pd.to_datetime(with_tz, format="ISO8601", utc=True, errors="coerce")
        naive = s[~offset & sane]
        if len(naive):
            local = pd.to_datetime(naive, format="ISO8601", errors="coerce")
            parsed[naive.index] = _localize(local, policy.timezone)
    rest = t[~iso]
    if not len(rest):
        return
    for pattern, parse in ((_NUMERIC, lambda s: _numeric_dates(s, policy.dayfirst)),
                           (_YEAR_FIRST, _year_first_dates)):
        hit = rest.str.match(pattern)
        if hit.any():
            parsed[rest.index[hit]] = _localize(parse(rest[hit]), policy.timezone)
        rest = rest[~hit]
    if len(rest):
        named = _month_name_dates(rest)
        ok = named.notna()
        if ok.any():
            parsed[named.index[ok]] = _localize(named[ok], policy.timezone)


def parse_timestamp(value: Any, policy: TimestampPolicy | None = None) -> pd.Timestamp | None:
    """One value: a UTC timestamp, or None when it is empty or not a date (see :func:`parse_timestamps`)."""
    parsed, _ = parse_timestamps(pd.Series([value], dtype=object), policy)
    ts = parsed.iloc[0]
    return None if pd.isna(ts) else pd.Timestamp(ts)
