"""Simulate a campaign on an export, for trying `segments measure` on the synthetic shop.

Reads the export (its segments, groups and consent) and the validated events, draws each
customer's purchases in the ``--days`` after the export's as-of with the known effects of
`synthetic.campaign` (persuadable at-risk and lapsed segments, sleeping-dog champions, the rest
unmoved), and writes a copy of the validated data with those purchases appended, so the real
validated layer stays as DVC made it:

    python scripts/simulate_campaign.py --export 2026-01-01 --out data/campaign
    segments measure --export 2026-01-01 --events data/campaign/validated \\
        --contacted data/campaign/contacted.csv

Also written: ``contacted.csv`` (who the campaign reached) and ``truth.parquet`` (per customer:
probabilities and expected revenue without and with contact, the injected uplift, the kind of
customer, whether contacted, the drawn orders and revenue), the ground truth an uplift model is
checked against (``--effects heterogeneous``: larger effects to learn targeting from, see
README "Uplift targeting"), and ``injected.json``, the mean injected effects per segment among
consenting customers (what the measurement should recover).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from features.contract import EVENT_TYPES
from pipelines.config import load_params
from pipelines.io import read_events_between, write_events_by_month
from synthetic.campaign import (
    DEFAULT_PURCHASE_EFFECTS,
    HETEROGENEOUS_PURCHASE_EFFECTS,
    CampaignSpec,
    simulate_campaign,
)

EFFECTS = {  # --effects: the purchase effects per segment injected
    "default": DEFAULT_PURCHASE_EFFECTS,
    "heterogeneous": HETEROGENEOUS_PURCHASE_EFFECTS,  # larger; sleeping dogs = likeliest buyers
    "none": {},
}


def mean_order_values(validated: Path, segments: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Each customer's mean purchase amount before the as-of (the median one if none)."""
    start = as_of - pd.Timedelta(days=730)
    history = read_events_between(
        validated / "events", start, as_of, ["customer_id", "event_type", "amount"]
    )
    purchases = history[history["event_type"] == "purchase"]
    means = purchases.groupby("customer_id")["amount"].mean()
    return segments["customer_id"].map(means).fillna(means.median()).astype(float)


def append_events(validated: Path, out: Path, events: pd.DataFrame) -> None:
    """Copy the validated layer to ``out`` and add ``events`` with its keys and column types."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(validated, out)
    customers = pd.read_parquet(out / "customers.parquet", columns=["customer_id", "customer_key"])
    keys = customers.set_index("customer_id")["customer_key"]
    events = events.assign(
        customer_key=events["customer_id"].map(keys),
        event_type_code=EVENT_TYPES.index("purchase"),
    )
    schema = ds.dataset(out / "events", format="parquet", partitioning="hive").schema
    schema = pa.schema([f for f in schema if f.name != "event_month"])
    table = pa.Table.from_pandas(events[schema.names], preserve_index=False).cast(schema)
    write_events_by_month(table, out / "events", basename_template="campaign-{i}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--export", default=None, help="as-of of the export (default: latest)")
    parser.add_argument("--out", type=Path, default=Path("data/campaign"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reach", type=float, default=0.9, help="share of the list contacted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--effects", choices=sorted(EFFECTS), default="default")
    args = parser.parse_args()
    params = load_params(args.params)
    folder = (params.score.exports_dir / (args.export or "latest")).resolve()
    segments = pd.read_parquet(folder / "segments.parquet")
    as_of = pd.Timestamp(folder.name, tz="UTC")
    order_value = mean_order_values(params.paths.validated_dir, segments, as_of)
    spec = CampaignSpec(days=args.days, reach=args.reach, purchase_effects=EFFECTS[args.effects])
    truth, outcomes, events = simulate_campaign(segments, spec, order_value, args.seed)
    append_events(params.paths.validated_dir, args.out / "validated", events)
    truth = truth.assign(**outcomes.drop(columns="customer_id"))
    truth.to_parquet(args.out / "truth.parquet", index=False)
    truth.loc[truth["treated"], ["customer_id"]].to_csv(args.out / "contacted.csv", index=False)
    reach = segments["marketing_consent"].fillna(False).astype(bool).to_numpy()
    injected = truth[reach].groupby("segment")[["uplift", "revenue_uplift"]].mean()
    (args.out / "injected.json").write_text(json.dumps(injected.to_dict("index"), indent=2) + "\n")
    print(f"{len(events):,} purchases after {folder.name} over {args.days} days -> {args.out}")
    print("injected effects on contacted customers (mean over consenting customers):")
    print(injected.round(4).to_string())


if __name__ == "__main__":
    main()
