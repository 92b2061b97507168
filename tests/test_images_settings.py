"""The images.* settings: defaults, units, and errors that name the key."""
from __future__ import annotations

import pytest

from sitegen.errors import ConfigError
from sitegen.images import ImageSettings
from sitegen.images.pipeline import process_params
from sitegen.images.process import output_widths


def test_defaults_match_the_documented_ones():
    settings = ImageSettings.from_mapping({}, "sitegen.toml")
    assert settings == ImageSettings()
    assert settings.fields == ("headimg", "thumbnail", "cover", "banner", "photos")
    assert (settings.max_width, settings.widths, settings.quality) == (1600, (480, 960, 1600), 80)
    assert (settings.max_bytes, settings.max_pixels) == (20_000_000, 50_000_000)
    assert (settings.concurrency, settings.per_host, settings.retries) == (8, 2, 3)
    assert settings.retry_failed_after == 86400 and settings.allow_hosts == ()
    assert settings.user_agent.startswith("sitegen/")


def test_values_and_units_are_parsed():
    settings = ImageSettings.from_mapping({
        "max_bytes": "5MB", "max_pixels": 1_000_000, "deadline": "45s",
        "retry_failed_after": "12h", "widths": [960, 320, 320], "quality": 70,
        "allow_hosts": ["LocalHost:8000", "[::1]"], "fields": "cover",
        "headers": {"CDN.example.com": {"Referer": "https://blog.example/"}},
        "connect_timeout": 2, "output_dir": "/assets/img/",
    }, "sitegen.toml")
    assert settings.max_bytes == 5_000_000 and settings.deadline == 45
    assert settings.retry_failed_after == 43200 and settings.widths == (320, 960)
    assert settings.allow_hosts == ("localhost:8000", "[::1]") and settings.fields == ("cover",)
    assert settings.header_for("cdn.EXAMPLE.com") == {"Referer": "https://blog.example/"}
    assert settings.header_for("other.example") == {}
    assert settings.timeout_connect == 2 and settings.output_dir == "assets/img"


def test_widths_are_clamped_to_max_width():
    params = process_params(ImageSettings.from_mapping({"max_width": 800}, "c"))
    assert output_widths(params, 3000) == (480, 800)
    assert output_widths(params, 300) == (300,)


@pytest.mark.parametrize(("data", "key"), [
    ({"max_widht": 10}, "images.max_widht"),
    ({"quality": 0}, "images.quality"),
    ({"quality": "high"}, "images.quality"),
    ({"enabled": "yes"}, "images.enabled"),
    ({"max_bytes": "lots"}, "images.max_bytes"),
    ({"widths": []}, "images.widths"),
    ({"widths": [480, True]}, "images.widths"),
    ({"deadline": 0}, "images.deadline"),
    ({"allow_hosts": ["http://x/"]}, "images.allow_hosts"),
    ({"headers": {"x": {"Bad Header": "1"}}}, "images.headers"),
    ({"headers": {"x": {"Referer": "a\r\nInjected: 1"}}}, "images.headers"),
    ({"user_agent": "a\nb"}, "images.user_agent"),
    ({"output_dir": "../outside"}, "images.output_dir"),
    ({"concurrency": 0}, "images.concurrency"),
])
def test_bad_values_name_the_file_and_key(data, key):
    with pytest.raises(ConfigError) as info:
        ImageSettings.from_mapping(data, "site/sitegen.toml")
    assert str(info.value).startswith(f"site/sitegen.toml: {key}")


def test_processing_key_changes_with_output_settings_only():
    base = ImageSettings()
    assert base.processing_key() == ImageSettings(concurrency=2).processing_key()
    assert base.processing_key() != ImageSettings(quality=60).processing_key()
    assert base.processing_key() != ImageSettings(max_width=1200).processing_key()
