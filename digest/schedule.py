"""When the daily job builds a day's digest, and when it starts pushing it.

arXiv announces new papers once a day, at 20:00 America/New_York, on Sunday to Thursday evenings (none on
Friday or Saturday; holidays are not modelled, a holiday simply announces nothing). A build reads what
arXiv has announced, and its membership is frozen once built, so it must not start before the day's
window has closed, and it is worth waiting for the last announcement before the push is due. It is not
worth waiting any longer: building takes a while on a big day (full texts one request at a time with
arXiv's pause, then the LLM), and readers expect the digest at `publish_at`.

So, for the digest of `day` (the window `[day-1 anchor, day anchor)` in the configured timezone):

- the build starts at the later of the window's end and the last announcement at or before `publish_at`
  plus a margin (`announcement_margin_minutes`: arXiv's API can lag its listing pages a few minutes),
  but never after `publish_at` (today's behaviour is the worst case);
- the push starts at `publish_at`; each chat waits there until its own cards are summarized, so a build
  that ends after `publish_at` delays only the chats it must.

On a day without an announcement before its `publish_at` (in Asia/Shanghai, Saturday and Sunday: arXiv
announced nothing on Friday or Saturday evening New York time), the build starts as soon as the window
closes: there is nothing new to wait for. Its window's papers are announced at the next announcement
(Sunday evening New York time) and go into the next digest built after it, as late papers (see
digest/window.py), so none is lost; the weekend digest is the short "no new papers" one.

Every time is computed with zoneinfo in its own zone, so daylight saving in New York and in the configured
timezone (they change on different dates) is taken into account: in Asia/Shanghai the announcement is at
09:00 in winter and 08:00 in summer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.settings import Settings

NEW_YORK = ZoneInfo("America/New_York")
ANNOUNCEMENT_TIME = time(20, 0)
# Sunday to Thursday evenings, as date.weekday() numbers them (Monday = 0).
ANNOUNCEMENT_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


@dataclass(frozen=True)
class DaySchedule:
    day: date
    window_end: datetime
    announcement: datetime  # the last one the build waits for (maybe before the window ended)
    build_at: datetime
    push_at: datetime


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def last_announcement(moment: datetime) -> datetime:
    """arXiv's last announcement at or before `moment` (in New York time)."""
    local = moment.astimezone(NEW_YORK)
    for back in range(8):
        day = local.date() - timedelta(days=back)
        announced = datetime.combine(day, ANNOUNCEMENT_TIME, tzinfo=NEW_YORK)
        if day.weekday() in ANNOUNCEMENT_WEEKDAYS and announced <= local:
            return announced
    raise AssertionError("arXiv announces at least once a week")


def day_schedule(day: date, settings: Settings) -> DaySchedule:
    cfg = settings.digest
    zone = cfg.zone
    window_end = _at(day, cfg.anchor, zone)
    publish = _at(day, cfg.publish_at, zone)
    announcement = last_announcement(publish)
    margin = timedelta(minutes=cfg.announcement_margin_minutes)
    # Never after publish_at, even when that comes before the window closes (an unusual setting, kept as
    # it always worked: papers of the window's rest are announced later and go into the next digest).
    build_at = min(max(window_end, announcement + margin), publish)
    return DaySchedule(
        day=day,
        window_end=window_end,
        announcement=announcement,
        build_at=build_at.astimezone(zone),
        push_at=publish.astimezone(zone),
    )


def build_start(day: date, settings: Settings) -> datetime:
    return day_schedule(day, settings).build_at


def push_start(day: date, settings: Settings) -> datetime:
    return day_schedule(day, settings).push_at


def seconds_until(moment: datetime, now: datetime | None = None) -> float:
    """Seconds from now to `moment`, in UTC: subtracting two datetimes of the same zoneinfo zone compares
    wall clocks and is an hour off across a daylight-saving change."""
    current = (now or datetime.now(UTC)).astimezone(UTC)
    return max(0.0, (moment.astimezone(UTC) - current).total_seconds())
