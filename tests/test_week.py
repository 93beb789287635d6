"""Daily builds over a simulated week in which the fake arXiv reveals papers only at arXiv's
announcement times (20:00 America/New_York, Sunday to Thursday), some held a day or two longer:
every paper lands in exactly one digest, none is missing, no replacement is shown again."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.fakes.arxiv_api import entry

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def announcement_after(submitted: datetime, held: int = 0) -> datetime:
    """arXiv's schedule: the 14:00 ET cutoff on a weekday; announced 20:00 ET, Friday's on Sunday."""
    local = submitted.astimezone(NEW_YORK)
    day = local.date()
    while True:
        cutoff = datetime.combine(day, time(14, 0), tzinfo=NEW_YORK)
        if day.weekday() < 5 and cutoff > local:
            break
        day += timedelta(days=1)
    announce_days = []
    probe = day
    while len(announce_days) <= held:
        # Mon-Thu cutoffs are announced the same evening; Friday's on Sunday evening.
        if probe.weekday() < 4:
            announce_days.append(probe)
        elif probe.weekday() == 4:
            announce_days.append(probe + timedelta(days=2))
        probe += timedelta(days=1)
    return datetime.combine(announce_days[held], time(20, 0), tzinfo=NEW_YORK).astimezone(UTC)


def test_announcement_schedule():
    tuesday_noon = datetime(2026, 2, 17, 12, 0, tzinfo=NEW_YORK)
    assert announcement_after(tuesday_noon) == datetime(2026, 2, 17, 20, 0, tzinfo=NEW_YORK)
    friday_late = datetime(2026, 2, 20, 15, 0, tzinfo=NEW_YORK)
    assert announcement_after(friday_late) == datetime(2026, 2, 23, 20, 0, tzinfo=NEW_YORK)
    friday_noon = datetime(2026, 2, 20, 12, 0, tzinfo=NEW_YORK)
    assert announcement_after(friday_noon) == datetime(2026, 2, 22, 20, 0, tzinfo=NEW_YORK)
    assert announcement_after(tuesday_noon, held=1) == datetime(2026, 2, 18, 20, 0, tzinfo=NEW_YORK)


def test_a_week_of_daily_builds_shows_every_paper_exactly_once(fake_arxiv, make_project):
    fake, server = fake_arxiv
    project = make_project(server.url)  # no LLM: the selection is what is under test
    rng = random.Random(7)
    start = datetime(2026, 2, 14, 0, 0, tzinfo=UTC)
    papers = {}
    for n in range(90):
        submitted = start + timedelta(minutes=rng.randrange(0, 9 * 24 * 60))
        held = 1 if n % 11 == 0 else 2 if n % 17 == 0 else 0
        cats = rng.choice([("cs.SD",), ("eess.AS",), ("cs.SD", "eess.AS"), ("eess.AS", "cs.SD", "cs.LG")])
        arxiv_id = f"2602.{10000 + n}v1"
        fake.add(entry(arxiv_id, submitted, cats, announce_at=announcement_after(submitted, held)))
        papers[arxiv_id.removesuffix("v1")] = submitted
    # A paper replaced two days later: v2 has a new timestamp in a later window but must not reappear.
    v1_time = datetime(2026, 2, 17, 3, 0, tzinfo=UTC)
    v2_time = datetime(2026, 2, 19, 3, 0, tzinfo=UTC)
    fake.add(entry("2602.20000v1", v1_time, announce_at=announcement_after(v1_time)))
    fake.add(entry("2602.20000v2", v2_time, announce_at=announcement_after(v2_time), published=v1_time))
    papers["2602.20000"] = v1_time
    # A paper outside our categories never shows.
    fake.add(entry("2602.30000v1", v1_time, ("math.AG",), announce_at=announcement_after(v1_time)))

    days = [date(2026, 2, 16) + timedelta(days=i) for i in range(8)]
    for day in days:
        fake.now = datetime.combine(day, time(9, 30), tzinfo=SHANGHAI).astimezone(UTC)
        project.run("build", "--date", day.isoformat(), check=True)
        assert project.post(day.isoformat()).exists()

    db = sqlite3.connect(project.database)
    rows = db.execute("select digest_key, base_id, paper_id from digest_items").fetchall()
    shown = [base for _, base, _ in rows]
    assert len(shown) == len(set(shown)), "a paper appeared in two digests"
    assert "2602.30000" not in shown
    assert [pid for _, base, pid in rows if base == "2602.20000"] == ["2602.20000v1"]

    first_start = datetime.combine(days[0] - timedelta(days=1), time(8, 50), tzinfo=SHANGHAI)
    last_build = fake.now
    last_end = datetime.combine(days[-1], time(8, 50), tzinfo=SHANGHAI)
    expected = {
        e.id.rsplit("v", 1)[0]
        for e in fake.entries
        if e.id.endswith("v1")
        and "math.AG" not in e.categories
        and first_start <= e.updated < last_end
        and e.announce_at <= last_build
    }
    assert expected, "the simulation should produce papers"
    assert set(shown) == expected
    # some papers really were late (shown in a digest after their own window's) and weekends were empty
    by_key = {}
    for key, base, _ in rows:
        by_key.setdefault(key.split("|")[0], []).append(base)
    late = [
        base
        for key, bases in by_key.items()
        for base in bases
        if papers[base]
        < datetime.combine(date.fromisoformat(key) - timedelta(days=1), time(8, 50), tzinfo=SHANGHAI)
    ]
    assert late
    assert "2026-02-21" not in by_key  # Saturday in Shanghai: no announcement on Friday evening
    assert "没有新论文" in project.post("2026-02-21").read_text(encoding="utf-8")


def test_a_daylight_saving_week_built_at_the_scheduled_times_shows_every_paper_once(fake_arxiv, make_project):
    """Europe/Berlin in March 2026: New York moves its clocks on the 8th, Berlin on the 29th, so for
    three weeks arXiv announces an hour earlier there. Each day is built when `run` would start it
    (digest/schedule.py), not at publish_at: every paper still lands in exactly one digest."""
    from config.settings import load_settings
    from digest.schedule import day_schedule

    berlin = ZoneInfo("Europe/Berlin")
    fake, server = fake_arxiv
    project = make_project(server.url)
    text = project.config.read_text(encoding="utf-8")
    text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Europe/Berlin"')
    text = text.replace('anchor = "08:50"', 'anchor = "01:30"\npublish_at = "07:00"')
    project.config.write_text(text, encoding="utf-8")
    settings = load_settings(project.config, {}, base_dir=project.root)
    rng = random.Random(11)
    start = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    for n in range(80):
        submitted = start + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        held = 1 if n % 9 == 0 else 0
        fake.add(entry(f"2603.{10000 + n}v1", submitted, announce_at=announcement_after(submitted, held)))

    days = [date(2026, 3, 5) + timedelta(days=i) for i in range(8)]  # across New York's change
    build_times = []
    for day in days:
        plan = day_schedule(day, settings)
        build_times.append(plan.build_at.strftime("%H:%M"))
        fake.now = plan.build_at.astimezone(UTC)
        project.run("build", "--date", day.isoformat(), check=True)
    # 02:10 before New York's change (announced at 02:00 Berlin time), then the window's end, 01:30,
    # once the announcement comes at 01:00; weekends build when the window closes.
    assert build_times[:2] == ["02:10", "02:10"] and build_times[-1] == "01:30", build_times

    db = sqlite3.connect(project.database)
    shown = [base for (base,) in db.execute("select base_id from digest_items")]
    assert len(shown) == len(set(shown)), "a paper appeared in two digests"
    first_start = datetime.combine(days[0] - timedelta(days=1), time(1, 30), tzinfo=berlin)
    last_end = datetime.combine(days[-1], time(1, 30), tzinfo=berlin)
    expected = {
        e.id.rsplit("v", 1)[0]
        for e in fake.entries
        if first_start <= e.updated < last_end and e.announce_at <= fake.now
    }
    assert expected and set(shown) == expected
