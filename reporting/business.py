"""The numbers of the business view, from the export frame: per segment its size, share, each
target's prediction and the reasons that most often lead each model's explanations."""

from __future__ import annotations

import pandas as pd

from features.targets import TARGETS, Target


def ordered_segments(segments: pd.DataFrame, order: list[str]) -> list[str]:
    """Segments present in the export, in the rule order of ``score.segments`` (others after)."""
    present = set(segments["segment"].astype(str))
    return [s for s in order if s in present] + sorted(present - set(order))


def _summarise(scores: pd.Series, target: Target) -> float:
    """One number per segment: mean probability, mean value, or the median days to an order."""
    if scores.notna().sum() == 0:
        return float("nan")
    return float(scores.median() if target.is_survival else scores.mean())


def segment_summary(segments: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per segment: customers, share, and per target its summary (``<target>``), how many it was
    predicted for (``<target>_scored``) and, for value targets, the total (``<target>_total``)."""
    rows = []
    for name in ordered_segments(segments, order):
        group = segments[segments["segment"].astype(str) == name]
        row = {"segment": name, "customers": len(group), "share": len(group) / len(segments)}
        for target in TARGETS.values():
            scores = group[target.score_column]
            row[target.name] = _summarise(scores, target)
            row[f"{target.name}_scored"] = int(scores.notna().sum())
            if target.is_value:
                row[f"{target.name}_total"] = float(scores.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def reason_phrase(feature: str, contribution: float, target: Target, descriptions: dict) -> str:
    """ "days since the last order raises churn risk": the catalogue's words and the direction."""
    described = descriptions.get(feature) or feature.replace("_", " ")
    up, down = target.reasons_up_down
    return f"{described} {up if contribution >= 0 else down}"


def lead_reasons(segments: pd.DataFrame, target: Target, skip: frozenset[str]) -> pd.DataFrame:
    """Per customer, the first of the model's reasons that is not in ``skip`` (reasons about the
    model rather than the customer, such as the horizon rescaling): its feature and whether it
    pushes the prediction up."""
    feature = pd.Series(None, index=segments.index, dtype=object)
    contribution = pd.Series(float("nan"), index=segments.index)
    for i in range(1, _reasons_kept(segments, target) + 1):
        candidate = segments[f"{target.reason_prefix}_reason_{i}_feature"]
        take = feature.isna() & candidate.notna() & ~candidate.isin(skip)
        feature = feature.mask(take, candidate)
        contribution = contribution.mask(
            take, segments[f"{target.reason_prefix}_reason_{i}_contribution"]
        )
    up = contribution.ge(0).where(contribution.notna())
    return pd.DataFrame({"segment": segments["segment"].astype(str), "feature": feature, "up": up})


def _reasons_kept(segments: pd.DataFrame, target: Target) -> int:
    i = 0
    while f"{target.reason_prefix}_reason_{i + 1}_feature" in segments:
        i += 1
    return i


def segment_reasons(
    segments: pd.DataFrame,
    descriptions: dict[str, str],
    skip: frozenset[str] = frozenset(),
    top: int = 2,
    min_share: float = 0.05,
) -> pd.DataFrame:
    """Per segment and target, the ``top`` leading reasons (feature and direction) of its
    customers as phrases, with the share of its explained customers each leads for (the first
    always, the others from ``min_share``)."""
    rows = []
    for target in TARGETS.values():
        leads = lead_reasons(segments, target, skip).dropna()
        for name, group in leads.groupby("segment", sort=False):
            counts = group.value_counts(["feature", "up"]).head(top) / len(group)
            for rank, ((feature, up), share) in enumerate(counts.items()):
                if rank and share < min_share:
                    break
                phrase = reason_phrase(feature, 1 if up else -1, target, descriptions)
                rows.append(
                    {"segment": name, "target": target.name, "phrase": phrase, "share": share}
                )
    return pd.DataFrame(rows, columns=["segment", "target", "phrase", "share"])
