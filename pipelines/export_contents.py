"""What an export holds: the segments table with consent, activation lists of consenting customers,
migration against the previous export, the drift and provenance documents, the segment report and
the manifest's body. `pipelines.export` writes them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.targets import tier_columns
from models.activation import activation_lists, with_consent
from models.fairness import AuditSettings, audit_export
from models.migration import migration, transition_table
from pipelines import export
from pipelines.champions import provenance
from pipelines.config import Params
from pipelines.inputs import sensitive_attributes
from pipelines.report import segment_report

COUNTED = ("segment", *tier_columns(), "rfm_group")  # manifest counts per value


def migration_files(exports_dir: Path, segments: pd.DataFrame, as_of: str):
    """Transition tables and summary against the previous export (none without one), and the
    segment migration itself."""
    previous = export.previous_export(exports_dir, as_of)
    if previous is None:
        return {}, {}, None
    before = pd.read_parquet(previous / "segments.parquet")
    moves = {c: migration(before, segments, c) for c in ("segment", *tier_columns())}
    tables = {f"migration/{c}_transitions.csv": transition_table(m) for c, m in moves.items()}
    summary = {"previous_as_of": previous.name} | {
        c: {k: v for k, v in m.items() if k != "matrix"} for c, m in moves.items()
    }
    return tables, {"migration/summary.json": summary}, moves["segment"]


def fairness_audit(params: Params, segments: pd.DataFrame) -> dict:
    """Each audited group's share of every tier, segment and activation file (`models.fairness`)."""
    attributes, absent = sensitive_attributes(params, segments["customer_id"])
    fair = params.fairness
    settings = AuditSettings(fair.n_bootstrap, fair.min_group_size, fair.confidence, params.seed)
    return audit_export(segments, attributes, absent, settings)


def assemble(params: Params, segments: pd.DataFrame, drift: dict, champions, as_of: str):
    """Tables and documents of the export, plus its manifest body and the migration result."""
    customers = pd.read_parquet(params.paths.validated_dir / "customers.parquet")
    segments = with_consent(segments, customers)
    lists, excluded = activation_lists(segments)
    tables = {"segments.parquet": segments} | (
        {"segments.csv": segments} if params.score.csv else {}
    )
    tables |= {f"activation/{export.slug(name)}.csv": frame for name, frame in lists.items()}
    about = provenance(params, champions)
    moves, summary, moved = migration_files(params.score.exports_dir, segments, as_of)
    tables |= moves
    fairness = fairness_audit(params, segments)
    documents = {"drift.json": drift, "provenance.json": about, "fairness.json": fairness}
    documents |= summary
    documents["report.html"] = segment_report(
        params,
        segments,
        as_of,
        about["models"],
        summary.get("migration/summary.json"),
        moves.get("migration/segment_transitions.csv"),
        fairness=fairness,
    )
    body = {
        "rows": len(segments),
        "counts": {c: segments[c].value_counts().sort_index().to_dict() for c in COUNTED},
        "excluded_from_activation_no_consent": excluded,
        "drift_over_limit": drift["over_limit"],
        "drift_allowed": drift["allowed"],
        **about,
    }
    return tables, documents, body, moved
