"""The segment report as a person sees it: Debian's chromium, headless, opens the file offline;
the page has no script error or console message, every image loads, every section is there, no
text reads NaN or 6.03e+05, and a screenshot is taken. Without chromium (`make browser` installs
it) these tests skip and say so."""

from __future__ import annotations

import pytest

from features.targets import TARGETS
from reporting import browser
from reporting.page import render
from reporting.sections import SECTIONS
from tests.test_report import NOT_A_NUMBER, SECTION_IDS, _inputs


def chromium_or_skip() -> str:
    found = browser.find_chromium()
    if found is None:
        pytest.skip(
            "chromium is not installed: `make browser` (run by `make test`) installs Debian's "
            "chromium with apt-get, which needs root or passwordless sudo"
        )
    return found


def assert_seen_as_intended(page: browser.Page, images: int) -> None:
    assert page.errors == [] and page.broken_images == []
    assert page.images >= images
    assert [i for i in page.section_ids if i in SECTION_IDS] == SECTION_IDS  # all, in order
    assert NOT_A_NUMBER.findall(page.text) == []
    assert "Segments and what to do" in page.headings


def test_chromium_shows_the_report_without_errors_and_every_image_loaded(tmp_path):
    chromium = chromium_or_skip()
    report = tmp_path / "report.html"
    report.write_text(render(_inputs(), SECTIONS))
    page = browser.open_page(report, chromium)
    assert_seen_as_intended(page, images=3)  # segment bars, migration flow, calibration
    shot = browser.screenshot(report, tmp_path / "report.png", chromium, height=900)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chromium_sees_a_broken_image_and_a_script_error(tmp_path):
    """The check can fail: a page with a broken image and a script error is caught."""
    chromium = chromium_or_skip()
    report = tmp_path / "bad.html"
    report.write_text(
        "<!doctype html><html><head><title>x</title></head><body><section id=a><h2>A</h2>"
        '<img alt="gone" src="data:image/png;base64,AAAA"><script>undefinedThing()</script>'
        "</section></body></html>"
    )
    page = browser.open_page(report, chromium)
    assert page.broken_images == ["gone"] and any("undefinedThing" in e for e in page.errors)


@pytest.mark.slow
def test_the_report_of_a_real_export_in_chromium(pipeline, tmp_path):
    """The report `dvc repro` wrote (the session pipeline's first export)."""
    chromium = chromium_or_skip()
    report = (pipeline / "exports" / "latest").resolve() / "report.html"
    assert "http://" not in report.read_text() and "https://" not in report.read_text()
    page = browser.open_page(report, chromium)
    assert_seen_as_intended(page, images=5)  # segment bars and the evaluation figures
    for target in TARGETS:  # the reviewer's evidence on every target
        assert any(heading.startswith(f"{target} (") for heading in page.headings), target
    assert browser.screenshot(report, tmp_path / "report.png", chromium).stat().st_size > 10_000
