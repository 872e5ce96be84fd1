"""Timer triggers (`on_timer`), sans-I/O: validating the vendor CLI's schedule and listing its occurrences.

`{"start_time": "immediately"}` fires once when registered. Otherwise `start_time` is a local ISO time
(`2026-02-05T15:00:00`) in `timezone` (default UTC), repeated by `frequency` (minutely ... yearly) every
`interval` units, on `byweekday` days (1 = Monday ... 7 = Sunday) if given, `count` times in all or
`until` a local ISO time (neither: for ever; `relay workflow create timer --trigger schedule` is count 1).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FIXED = {"minutely": 60, "hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
FREQUENCIES = (*FIXED, "monthly", "yearly")
TIMER_FIELDS = frozenset({"start_time", "timezone", "count", "until", "frequency", "interval", "byweekday"})
MAX_STEPS = 200_000  # a guard against schedules that never match (e.g. byweekday days that never come)


class ScheduleError(ValueError):
    pass


def _zone(value: Any) -> tzinfo:
    if value is None:
        return ZoneInfo("UTC")
    if not isinstance(value, str):
        raise ScheduleError("'timezone' must be an IANA name such as America/New_York")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {value!r}") from None


def _local(value: Any, zone: tzinfo, key: str) -> datetime:
    if not isinstance(value, str):
        raise ScheduleError(f"'{key}' must be an ISO time such as 2026-02-05T15:00:00")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"'{key}' must be an ISO time such as 2026-02-05T15:00:00") from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=zone)


def _positive_int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ScheduleError(f"'{key}' must be a positive whole number")
    return value


def validate(value: Any) -> None:
    """Raise ScheduleError with a reason when `value` is not a usable `on_timer` object."""
    if not isinstance(value, dict):
        raise ScheduleError("'on_timer' must be an object with a 'start_time'")
    unknown = set(value) - TIMER_FIELDS
    if unknown:
        raise ScheduleError(f"unknown on_timer field(s): {', '.join(sorted(unknown))}")
    if value.get("start_time") == "immediately":
        return
    zone = _zone(value.get("timezone"))
    _local(value.get("start_time"), zone, "start_time")
    if "until" in value:
        _local(value["until"], zone, "until")
    if "count" in value:
        _positive_int(value["count"], "count")
    if "interval" in value:
        _positive_int(value["interval"], "interval")
    freq = value.get("frequency")
    if freq is not None and freq not in FREQUENCIES:
        raise ScheduleError(f"'frequency' must be one of {', '.join(FREQUENCIES)}")
    days = value.get("byweekday")
    if days is not None and not (isinstance(days, list) and days and all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)):
        raise ScheduleError("'byweekday' must be a list of days 1 (Monday) to 7 (Sunday)")


def is_immediate(value: Any) -> bool:
    return isinstance(value, dict) and value.get("start_time") == "immediately"


def _add_months(dt: datetime, months: int) -> datetime:
    total = dt.month - 1 + months
    year, month = dt.year + total // 12, total % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _steps(start: datetime, freq: str | None, interval: int, days: list[int] | None,
           after: datetime) -> Iterator[datetime]:
    """Every candidate time in order (before count/until), from the first one that could be >= `after`."""
    if freq is None:
        yield start
        return
    if days:  # expand day by day; keep the days listed, in the periods the interval selects
        first = start - timedelta(days=start.isoweekday() - 1)
        for n in range(MAX_STEPS):
            dt = start + timedelta(days=n)
            if dt.isoweekday() not in days:
                continue
            if freq == "weekly" and ((dt - first).days // 7) % interval:
                continue
            if freq == "daily" and n % interval:
                continue
            yield dt
        return
    if freq in FIXED:
        step = timedelta(seconds=FIXED[freq] * interval)
        k = max(0, math.ceil((after - start) / step)) if after > start else 0
        while True:
            yield start + k * step
            k += 1
    months = interval * (12 if freq == "yearly" else 1)
    for k in range(MAX_STEPS):
        yield _add_months(start, k * months)


def occurrences(value: dict[str, Any], after_epoch: float) -> Iterator[float]:
    """Epoch seconds of the occurrences at or after `after_epoch`, in order (a schedule that was validated)."""
    zone = _zone(value.get("timezone"))
    start = _local(value["start_time"], zone, "start_time")
    until = _local(value["until"], zone, "until") if "until" in value else None
    freq = value.get("frequency")
    count = value.get("count", 1 if freq is None else None)
    interval = int(value.get("interval", 1))
    days = value.get("byweekday")
    after = datetime.fromtimestamp(after_epoch, zone)
    fixed_jump = freq in FIXED and not days
    seen = 0
    for dt in _steps(start, freq, interval, days, after):
        if fixed_jump and seen == 0:  # the jump skipped occurrences: count them as past
            seen = round((dt - start) / timedelta(seconds=FIXED[str(freq)] * interval))
        if until is not None and dt > until:
            return
        if count is not None and seen >= count:
            return
        seen += 1
        if dt >= after:
            yield dt.timestamp()
