"""The report's sections, in the order a reader meets them: the business view (segments and what
to do, why, migration), the slots for power/measurement and fairness, then model quality."""

from __future__ import annotations

import html

import pandas as pd

from features.targets import TARGETS, Target
from models.scoring import MAX_WAIT_DAYS
from reporting import figures
from reporting.business import ordered_segments, segment_reasons, segment_summary
from reporting.formats import count, days, money, not_applicable, percent, share
from reporting.page import ReportInputs, Section, table
from reporting.quality import quality_section

NO_ACTION = "no action set: add one under score.report.actions in params.yaml"


def _value_target() -> Target | None:
    return next((t for t in TARGETS.values() if t.is_value), None)


def _horizon(inputs: ReportInputs, target: Target) -> str:
    h = inputs.horizons.get(target.name)
    return f" ({h} days)" if h else ""


def _why_missing(inputs: ReportInputs, target: Target) -> str:
    note = target.population_note.format(lookback=inputs.lookback_days)
    return note or f"no {target.report_name or target.name} prediction for this segment"


def _score_cells(inputs: ReportInputs, row: pd.Series, target: Target) -> list[str]:
    """The cells of one target in the segments table (a value target has two)."""
    value, scored = row[target.name], row[f"{target.name}_scored"]
    why = _why_missing(inputs, target)
    if target.is_value:
        total = row[f"{target.name}_total"] if scored else float("nan")
        return [money(total, inputs.currency, why), money(value, inputs.currency, why)]
    cell = days(value, why, MAX_WAIT_DAYS) if target.is_survival else percent(value, why)
    if 0 < scored < row["customers"]:
        cell += f" <small>over {count(scored)}</small>"
    return [cell]


def _score_headers(inputs: ReportInputs) -> list[str]:
    headers = []
    for target in TARGETS.values():
        name = html.escape((target.report_name or target.name).capitalize())
        if target.is_value:
            headers += [f"{name}{_horizon(inputs, target)}", f"{name} per customer"]
        elif target.is_survival:
            headers.append(f"{name} in (median)")
        else:
            headers.append(f"{name}{_horizon(inputs, target)}")
    return headers


def segments_section(inputs: ReportInputs) -> Section:
    """Per segment: size, share, every prediction and the suggested action; bars of both sizes."""
    summary = segment_summary(inputs.segments, inputs.segment_order)
    rows = [
        [html.escape(row["segment"]), count(row["customers"]), percent(row["share"])]
        + [cell for t in TARGETS.values() for cell in _score_cells(inputs, row, t)]
        + [html.escape(inputs.actions.get(row["segment"], NO_ACTION))]
        for _, row in summary.iterrows()
    ]
    header = ["Segment", "Customers", "Share", *_score_headers(inputs), "Suggested action"]
    value = _value_target()
    lead = f"<p class=lead>{count(len(inputs.segments))} customers in {len(summary)} segments"
    if value is not None:
        total = money(summary[f"{value.name}_total"].sum(), inputs.currency)
        named = f"{value.report_name or value.name}{_horizon(inputs, value)}"
        lead += f", with {total} of {named}"
        bars = summary.assign(predicted_value=summary[f"{value.name}_total"])
        chart = figures.segment_bars(bars, inputs.currency, named.capitalize())
    else:
        chart = ""
    notes = [_why_missing(inputs, t) for t in TARGETS.values() if t.population_note]
    note = "".join(
        f"<p><small>{html.escape(n.capitalize())}: rates are over those customers "
        "(<em>over N</em> says how many when not everyone in the segment).</small></p>"
        for n in notes
    )
    body = lead + ".</p>" + table(header, rows, text=(0, -1)) + note + chart
    return Section("segments", "Segments and what to do", body)


def _reason_list(reasons: pd.DataFrame) -> str:
    items = "".join(
        f"<li>{html.escape(r.phrase)} <small>({share(r.share)})</small></li>"
        for r in reasons.itertuples()
    )
    return f"<ul>{items}</ul>"


def reasons_section(inputs: ReportInputs) -> Section:
    """Per segment and model, the reasons that most often come first, in the catalogue's words."""
    reasons = segment_reasons(inputs.segments, inputs.descriptions, inputs.context_reasons)
    rows = []
    for name in ordered_segments(inputs.segments, inputs.segment_order):
        row = [html.escape(name)]
        for target in TARGETS.values():
            mine = reasons[(reasons["segment"] == name) & (reasons["target"] == target.name)]
            row.append(
                _reason_list(mine) if len(mine) else not_applicable(_why_missing(inputs, target))
            )
        rows.append(row)
    header = ["Segment"] + [
        f"{html.escape((t.report_name or t.name).capitalize())}: first reasons"
        for t in TARGETS.values()
    ]
    intro = (
        "<p>What most often comes first in each customer's explanation (exact SHAP values of the "
        "model that serves), and the share of the segment's customers it comes first for. "
        "Each customer's own reasons are in the export (<code>*_reason_*_phrase</code>); reasons "
        "about the model rather than the customer (the horizon rescaling) are left out here.</p>"
    )
    return Section(
        "reasons",
        "Why customers are in each segment",
        intro + table(header, rows, text=tuple(range(len(header)))),
    )


def migration_section(inputs: ReportInputs) -> Section:
    """How customers moved between segments since the previous export, as a from-to chart."""
    if inputs.migration is None or inputs.transitions is None:
        body = (
            "<p class=na>No earlier export to compare with: this is the first export in this "
            "folder. From the next export on, this section shows how customers moved between "
            "segments.</p>"
        )
        return Section("migration", "Migration since the last export", body)
    moved = inputs.migration["segment"]
    moves = moved["notable_moves"]
    lead = (
        f"<p class=lead>{percent(moved['stability_share'])} of the customers in both exports "
        f"stayed in their segment since {html.escape(inputs.migration['previous_as_of'])} "
        f"({count(moved['customers_before'])} customers then, {count(moved['customers_after'])} "
        "now).</p>"
    )
    notable = (
        table(
            ["Move to watch", "Customers"],
            [[html.escape(k.replace(" -> ", " → ")), count(v)] for k, v in moves.items()],
        )
        if moves
        else "<p>None of the moves to watch happened.</p>"
    )
    chart = (
        "<p>Each row: where the customers of a segment at the previous export are now (the "
        "colour is the share of the row; new customers come from the last row, customers no "
        "longer in the data go to <em>(gone)</em>).</p>"
        + figures.migration_heatmap(inputs.transitions, inputs.segment_order)
    )
    title = f"Migration since the last export ({inputs.migration['previous_as_of']})"
    return Section("migration", title, lead + notable + chart)


def measurement_section(inputs: ReportInputs) -> Section:
    """Slot: control-group power and measured uplift per segment, once there are results."""
    body = inputs.measurement or (
        "<p class=na>Not measured yet: no control-group results for this export. Once campaigns "
        "keep a control group, this section shows per segment the measured effect of the action "
        "and whether the groups are large enough to detect it.</p>"
    )
    return Section("measurement", "Power and measurement", body)


def fairness_section(inputs: ReportInputs) -> Section:
    """Slot: how scores and segments differ across customer groups, once audited."""
    body = inputs.fairness or (
        "<p class=na>Not audited yet: no fairness audit for this export.</p>"
    )
    return Section("fairness", "Fairness", body)


SECTIONS = [
    segments_section,
    reasons_section,
    migration_section,
    measurement_section,
    fairness_section,
    quality_section,
]
