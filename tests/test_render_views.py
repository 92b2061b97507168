"""Render-side shortcuts must give exactly what the general code gives."""
from datetime import datetime, timedelta, timezone

import pytest

from sitegen.hexo.dates import format_moment
from sitegen.views import date_formatter

FORMATS = ["YYYY-MM-DD", "HH:mm:ss", "YYYY年M月D日", "YYYY/MM/DD H:m:s", "{YYYY}}", "MMM D, YYYY",
           "[at] HH:mm", "LL", "Do MMMM", "YY-M", "x", "YYYYY", "D.M.YYYY", "h:mm A", "\\YYYY",
           "YYYYMMDD", "ss.SSS", "dddd", "Q", ""]
DATES = [datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc),
         datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))),
         datetime(2024, 11, 20, 12, 0, 0, tzinfo=timezone(timedelta(hours=-5)))]


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_formatter_matches_format_moment(fmt):
    for when in DATES:
        assert date_formatter(fmt)(when) == format_moment(when, fmt)


@pytest.mark.parametrize("root", ["/", "/blog/"])
@pytest.mark.parametrize("base", ["", "categories/中文 x/", "archives/2020/", "tags/a%b/"])
def test_paginator_links_match_url_rules(root, base):
    from sitegen.urls import Urls
    from sitegen.views import ViewContext, paginator

    urls = Urls(root=root, base_url="http://example.com", pagination_dir="page")
    p = paginator(ViewContext(None, urls, "YYYY", "HH"), base, 3, 12, [])
    assert [link["url"] for link in p["pages"]] == [urls.url(urls.paged(base, n)) for n in range(1, 13)]
    assert (p["prev_url"], p["next_url"]) == (urls.url(urls.paged(base, 2)), urls.url(urls.paged(base, 4)))
