"""Front-matter dates in the site zone, independent of the machine's zone."""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from sitegen.frontmatter import parse_front_matter, read_source
from sitegen.hexo.dates import format_moment, parse_date, site_timezone, unix_seconds

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHANGHAI = site_timezone("Asia/Shanghai")
UTC = site_timezone(None)
SEED_DATE = "Mon, 11 Oct 2021 07:53:00 GMT"


@pytest.fixture
def machine_zone():
    """Switch the process zone (TZ + tzset) and put it back afterwards."""
    old = os.environ.get("TZ")

    def switch(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield switch
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_seed_rfc2822_date_under_utc_and_shanghai():
    utc = parse_date(SEED_DATE, UTC)
    assert utc.isoformat() == "2021-10-11T07:53:00+00:00"
    assert format_moment(utc, "YYYY/MM/DD") == "2021/10/11"
    shanghai = parse_date(SEED_DATE, SHANGHAI)
    assert shanghai.isoformat() == "2021-10-11T15:53:00+08:00"
    assert format_moment(shanghai, "YYYY/MM/DD") == "2021/10/11"


def test_rfc2822_near_midnight_changes_day_in_site_zone():
    assert parse_date("Sun, 10 Oct 2021 20:00:00 GMT", SHANGHAI).date() == dt.date(2021, 10, 11)
    assert parse_date("Sun, 10 Oct 2021 20:00:00 +0000", UTC).date() == dt.date(2021, 10, 10)


def test_unpadded_naive_date_is_read_in_site_zone():
    assert parse_date("2018-7-24 23:31:06", SHANGHAI).isoformat() == "2018-07-24T23:31:06+08:00"
    assert parse_date("2018-7-4", SHANGHAI).isoformat() == "2018-07-04T00:00:00+08:00"


def test_explicit_offset_keeps_the_instant():
    value = parse_date("2021-01-01T12:00:00+02:00", SHANGHAI)
    assert value.astimezone(dt.UTC) == dt.datetime(2021, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert value.isoformat() == "2021-01-01T18:00:00+08:00"  # same instant, site wall clock


@pytest.mark.parametrize("text,expected", [
    ("2013-12-24 23:30:09", "2013-12-24T23:30:09+08:00"),
    ("2013-12-24 23:30", "2013-12-24T23:30:00+08:00"),
    ("2013-12-24", "2013-12-24T00:00:00+08:00"),
    ("2013/12/24 23:30:09", "2013-12-24T23:30:09+08:00"),
    ("2013/12/24", "2013-12-24T00:00:00+08:00"),
    ("2013-12-24T23:30:09", "2013-12-24T23:30:09+08:00"),
    ("2013-12-24T15:30:09Z", "2013-12-24T23:30:09+08:00"),
    ("2013-12-24T15:30:09.250Z", "2013-12-24T23:30:09.250000+08:00"),
    ("2013-12-24T10:30:09-05:00", "2013-12-24T23:30:09+08:00"),
    ("2013-12-24 20:00:09 +0530", "2013-12-24T22:30:09+08:00"),
    ("24 Dec 2013 15:30:09 UTC", "2013-12-24T23:30:09+08:00"),
    ("Tue, 24 Dec 2013 10:30:09 EST", "2013-12-24T23:30:09+08:00"),
    ("Dec 24, 2013 23:30", "2013-12-24T23:30:00+08:00"),
    ("December 24, 2013", "2013-12-24T00:00:00+08:00"),
    ("Tue Dec 24 2013 23:30:09 GMT+0800 (China Standard Time)", "2013-12-24T23:30:09+08:00"),
    ("  2013-12-24 23:30:09  ", "2013-12-24T23:30:09+08:00"),
])
def test_text_forms(text, expected):
    assert parse_date(text, SHANGHAI).isoformat() == expected


def test_yaml_objects():
    assert parse_date(dt.date(2020, 2, 29), SHANGHAI).isoformat() == "2020-02-29T00:00:00+08:00"
    naive = dt.datetime(2020, 2, 29, 8, 30)
    assert parse_date(naive, SHANGHAI).isoformat() == "2020-02-29T08:30:00+08:00"
    aware = dt.datetime(2020, 2, 29, 8, 30, tzinfo=dt.UTC)
    assert parse_date(aware, SHANGHAI).isoformat() == "2020-02-29T16:30:00+08:00"


def test_numbers_are_milliseconds_like_javascript_dates():
    assert parse_date(1633938780000, UTC).isoformat() == "2021-10-11T07:53:00+00:00"
    assert parse_date(1633938780000.0, SHANGHAI).isoformat() == "2021-10-11T15:53:00+08:00"


@pytest.mark.parametrize("bad", [
    "yesterday", "2021-02-30", "2021-13-01", "2021-01-01 24:30", "11 Foo 2021",
    "Mon, 11 Oct 2021 07:53:00 CEST", "", True, None, [2021], float("nan"),
])
def test_unreadable_dates_raise_value_error(bad):
    with pytest.raises(ValueError, match="cannot read date"):
        parse_date(bad, SHANGHAI)


def test_dst_gap_lands_on_a_real_time():
    new_york = site_timezone("America/New_York")
    value = parse_date("2021-03-14 02:30:00", new_york)
    assert value.utcoffset() == dt.timedelta(hours=-4)
    assert value.hour == 3


def test_site_timezone():
    assert site_timezone(None) == dt.UTC
    assert site_timezone("") == dt.UTC
    assert str(site_timezone("Europe/Paris")) == "Europe/Paris"
    assert str(site_timezone("asia/shanghai")) == "Asia/Shanghai"  # moment ignores case
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime"):
        with pytest.raises(ValueError, match="unknown time zone"):
            site_timezone(bad)


def test_machine_zone_does_not_matter(machine_zone):
    inputs = [SEED_DATE, "2018-7-24 23:31:06", "2021-01-01T12:00:00+02:00", "2013-12-24",
              dt.datetime(2020, 6, 1, 12), 1633938780000]

    def results():
        return [(parse_date(v, SHANGHAI).isoformat(), parse_date(v, UTC).isoformat(),
                 format_moment(parse_date(v, SHANGHAI), "YYYY-MM-DD HH:mm Z X"))
                for v in inputs]

    machine_zone("UTC")
    baseline = results()
    for zone in ("America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata"):
        machine_zone(zone)
        assert time.localtime(0).tm_gmtoff != 0  # the switch really happened
        assert results() == baseline


def test_format_moment_tokens():
    value = dt.datetime(2021, 3, 4, 15, 6, 7, 89000, tzinfo=SHANGHAI)
    assert format_moment(value, "YYYY-MM-DD HH:mm:ss") == "2021-03-04 15:06:07"
    assert format_moment(value, "YY M D H m s") == "21 3 4 15 6 7"
    assert format_moment(value, "hh h A a") == "03 3 PM pm"
    assert format_moment(value, "MMM MMMM ddd dddd Do") == "Mar March Thu Thursday 4th"
    assert format_moment(value, "Z ZZ") == "+08:00 +0800"
    assert format_moment(value, "X") == str(unix_seconds(value)) == "1614841567"
    assert format_moment(value, "x SSS") == "1614841567089 089"
    assert format_moment(value, "[Today is] dddd [YYYY]") == "Today is Thursday YYYY"
    assert format_moment(value, "YYYY年MM月DD日") == "2021年03月04日"
    assert format_moment(value, "LL") == "March 4, 2021"
    assert format_moment(value, r"\Y YYYY") == "Y 2021"


def test_format_moment_midnight_and_noon_in_12_hour_clock():
    assert format_moment(dt.datetime(2021, 1, 1, 0, 5, tzinfo=UTC), "h:mm A") == "12:05 AM"
    assert format_moment(dt.datetime(2021, 1, 1, 12, 5, tzinfo=UTC), "hh:mm a") == "12:05 pm"


def test_format_moment_negative_offset_and_ordinals():
    value = dt.datetime(2021, 1, 22, tzinfo=site_timezone("America/St_Johns"))
    assert format_moment(value, "Z ZZ") == "-03:30 -0330"
    days = [format_moment(dt.datetime(2021, 1, d, tzinfo=UTC), "Do") for d in (1, 2, 3, 11, 13, 21)]
    assert days == ["1st", "2nd", "3rd", "11th", "13th", "21st"]


def _hexo_unit_test() -> Path:
    return SHARED / "hexo-unit-test"


@pytest.mark.skipif(not (_hexo_unit_test() / "expected" / "posts.json").is_file(),
                    reason="shared/ reference data absent")
def test_dates_match_hexo_output():
    root = _hexo_unit_test()
    expected = json.loads((root / "expected" / "posts.json").read_text(encoding="utf-8"))
    assert expected["posts"]
    for post in expected["posts"]:
        source = root / "source" / post["source"]
        fm = parse_front_matter(read_source(source, post["source"]), post["source"])
        assert parse_date(fm.data["date"], SHANGHAI).isoformat() == post["date"], post["source"]
