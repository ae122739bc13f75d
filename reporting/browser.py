"""The report as a person sees it: Debian's ``chromium``, headless, opens the file offline, and we
read back what it rendered (text, section ids), whether every image loaded, any script error or
console message, and take a screenshot.

The report has no scripts of its own. A copy of it gets one small script at the top of ``<head>``
that records errors and, on load, the images that failed and the page height, into an attribute
that ``--dump-dom`` prints. Chromium writes console messages to stderr (``--enable-logging``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHECK = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(
  e.message || ("failed to load " + ((e.target && (e.target.src || e.target.href)) || "?"))), true);
window.addEventListener("load", () => {
  const images = [...document.images];
  document.documentElement.setAttribute("data-page-check", JSON.stringify({
    images: images.length,
    broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
    errors: window.__errors,
    height: document.documentElement.scrollHeight}));
});
</script>"""
FLAGS = ("--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--mute-audio")
CONSOLE = re.compile(r":CONSOLE(?::\d+)?\] (.*)")


@dataclass(frozen=True)
class Page:
    text: str  # the visible text (no scripts or styles)
    section_ids: list[str]
    headings: list[str]  # h1-h3 texts, in order
    images: int
    broken_images: list[str]  # alt texts of images that did not load
    errors: list[str]  # script errors, failed loads and console messages
    height: int  # of the whole page, in CSS pixels


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text, self.sections, self.headings, self.check = [], [], [], "{}"
        self._skip, self._heading = 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.check = attrs.get("data-page-check", self.check)
        if tag == "section" and attrs.get("id"):
            self.sections.append(attrs["id"])
        self._skip += tag in ("script", "style")
        self._heading = [] if tag in ("h1", "h2", "h3") else self._heading

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)
            if self._heading is not None:
                self._heading.append(data)


def _run(chromium: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium, *FLAGS, *args], capture_output=True, text=True, timeout=timeout, check=True
    )


def open_page(report: Path, chromium: str) -> Page:
    """Render ``report`` (a copy with the check script) and read back what the browser shows."""
    page = report.read_text()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "report.html"
        copy.write_text(page.replace("<head>", "<head>" + CHECK, 1))
        done = _run(
            chromium, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            "--dump-dom", copy.as_uri(),
        )  # fmt: skip
    reader = _Reader()
    reader.feed(done.stdout)
    check = json.loads(reader.check)
    console = [m.group(1) for m in map(CONSOLE.search, done.stderr.splitlines()) if m]
    return Page(
        text=" ".join("".join(reader.text).split()),
        section_ids=reader.sections,
        headings=reader.headings,
        images=check.get("images", 0),
        broken_images=check.get("broken", []),
        errors=check.get("errors", ["the check script did not run"]) + console,
        height=check.get("height", 0),
    )


def screenshot(report: Path, out: Path, chromium: str, width: int = 1280, height: int = 2400):
    """A PNG of the top ``height`` pixels of the page at ``width`` (a laptop screen is 1280)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(chromium, f"--screenshot={out.resolve()}", f"--window-size={width},{height}",
         report.resolve().as_uri())  # fmt: skip
    return out


if __name__ == "__main__":  # python -m reporting.browser REPORT.html OUT.png
    import sys

    report, out = map(Path, sys.argv[1:3])
    chromium = find_chromium()
    if chromium is None:
        sys.exit("chromium not found: `make browser` installs Debian's chromium")
    page = open_page(report, chromium)
    problems = page.errors + [f"image not loaded: {alt}" for alt in page.broken_images]
    print(f"{report}: {len(page.section_ids)} sections, {page.images} images, {page.height} px")
    print(f"screenshot: {screenshot(report, out, chromium)}")
    sys.exit("\n".join(problems) or None)
