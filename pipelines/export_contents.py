"""What an export holds: the segments table with consent and control groups, activation lists of
consenting target customers, migration against the previous export, the drift and provenance
documents, the segment report (with the power of each segment's control group) and the manifest's
body. `pipelines.export` writes them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from features.targets import tier_columns
from models.activation import activation_lists, with_consent
from models.control import CONTROL, assign_groups, derive_salt, group_counts, power_table
from models.fairness import AuditSettings, audit_export
from models.migration import migration, transition_table
from pipelines import export
from pipelines.champions import provenance
from pipelines.config import Params
from pipelines.files import kept_secret
from pipelines.inputs import sensitive_attributes
from pipelines.report import segment_report
from pipelines.uplift_model import with_uplift

COUNTED = ("segment", *tier_columns(), "rfm_group")  # manifest counts per value


def id_salt(params: Params) -> str:
    """The salt of customer ids sent to MLflow: the environment's (``score.id_salt_env``), else
    the one kept in ``paths.id_salt`` (made on first use)."""
    return os.environ.get(params.score.id_salt_env) or kept_secret(params.paths.id_salt)


def control_salt(params: Params) -> str:
    """The salt of control groups: the environment's (``score.control.salt_env``), else one
    derived from the id salt for this purpose alone. A new salt draws a new universal group."""
    own = os.environ.get(params.score.control.salt_env)
    return own or derive_salt(id_salt(params), "control-group")


def control_and_power(params: Params, segments: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """The manifest's record of the groups and the power table of the customers a campaign can
    reach (consenting), per segment."""
    rules = params.score.control
    consent = segments["marketing_consent"].fillna(False).astype(bool)
    horizons = params.targets.horizons()
    power = power_table(segments[consent], horizons, rules.max_relative_mde, rules.order_value_cv)
    held_out = int((consent & (segments["group"] == CONTROL)).sum())
    record = {
        "control": {"share": rules.share, "mode": rules.mode, "counts": group_counts(segments)},
        "excluded_from_activation_control": held_out,
        "power": json.loads(power.set_index("segment").to_json(orient="index")),  # inf: null
    }
    return record, power


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


def assemble(
    params: Params, segments: pd.DataFrame, drift: dict, champions, as_of: str, uplift=None
):
    """Tables and documents of the export, plus its manifest body and the migration result.
    ``uplift``: the uplift model (`pipelines.uplift_model.load_for_export`), or None."""
    customers = pd.read_parquet(params.paths.validated_dir / "customers.parquet")
    segments = with_consent(segments, customers)
    rules = params.score.control
    groups = assign_groups(segments, control_salt(params), as_of, rules.share, rules.mode)
    segments, uplifted = with_uplift(params, segments.assign(group=groups.to_numpy()), uplift)
    lists, excluded = activation_lists(segments)
    control, power = control_and_power(params, segments)
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
        power=power,
    )
    body = {
        "rows": len(segments),
        "counts": {c: segments[c].value_counts().sort_index().to_dict() for c in COUNTED},
        "excluded_from_activation_no_consent": excluded,
        **control,
        "uplift": uplifted,
        "drift_over_limit": drift["over_limit"],
        "drift_allowed": drift["allowed"],
        **about,
    }
    return tables, documents, body, moved
