"""The page around the sections: an ordered list of section functions, each returning a
``Section`` (an ``id``, a heading and an HTML body), rendered with a table of contents.

To add a section, write a function of ``ReportInputs`` and put it in ``SECTIONS`` where it
should appear: the business view comes first, the reviewer's evidence last.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222;
line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child,td.text,th.text{text-align:left}
td ul{margin:0;padding-left:1.1rem;text-align:left}small{color:#555}
.ok{color:#1a7f37}.warn{color:#b35900}.na{color:#666;font-style:italic}
img{max-width:100%}.figures{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
h2{margin-top:2.2rem;border-bottom:2px solid #ddd}nav ol{columns:2}.lead{font-size:1.1rem}
"""


@dataclass(frozen=True)
class Evidence:
    """The evaluate stage's verdict on one target and its curve tables (calibration, deciles)."""

    target: str
    summary: dict
    plots: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the sections read. ``measurement`` and ``fairness`` are the slots for the
    sections of those names: an HTML body once there are results, None until then."""

    segments: pd.DataFrame
    as_of: str
    models: dict[str, dict]
    currency: str = "£"
    actions: dict[str, str] = field(default_factory=dict)
    segment_order: list[str] = field(default_factory=list)
    horizons: dict[str, int] = field(default_factory=dict)
    lookback_days: int = 365
    descriptions: dict[str, str] = field(default_factory=dict)  # feature -> catalogue words
    context_reasons: frozenset[str] = frozenset()  # reasons about the model, not the customer
    evidence: list[Evidence] = field(default_factory=list)
    migration: dict | None = None
    transitions: pd.DataFrame | None = None
    measurement: str | None = None
    fairness: str | None = None


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str

    def html(self) -> str:
        return f'<section id="{self.id}"><h2>{html.escape(self.title)}</h2>\n{self.body}</section>'


def table(header: list[str], rows: list[list[str]], text: tuple[int, ...] = (0,)) -> str:
    """An HTML table of ready cells (already escaped); columns in ``text`` (negative: from the
    end) align left, the others (numbers) right."""

    def cells(tag: str, values: list[str]) -> str:
        left = {i % len(values) for i in text}
        return "".join(
            f"<{tag}{' class=text' if i in left else ''}>{v}</{tag}>" for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def render(inputs: ReportInputs, sections: list[Callable[[ReportInputs], Section]]) -> str:
    """The whole page: title, one-line summary, table of contents, then each section in order."""
    built = [section(inputs) for section in sections]
    contents = "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in built)
    title = f"Segment report as of {inputs.as_of}"
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<nav><ol>{contents}</ol></nav>",
            *(s.html() for s in built),
            "</body></html>",
        ]
    )
