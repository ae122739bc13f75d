"""DVC stage ``bgnbd``: BG/NBD + Gamma-Gamma fitted at every modelling cutoff (point in time)."""

from __future__ import annotations

import argparse
import json

import pandas as pd
from rich.console import Console

from models.bgnbd import bgnbd_features
from models.frames import modelling_cutoffs
from pipelines.config import load_params
from pipelines.io import write_parquet
from pipelines.progress import progress_bar


def main(params_path: str = "params.yaml") -> pd.DataFrame:
    params = load_params(params_path)
    features_dir = params.paths.features_dir
    plan = json.loads((features_dir / "snapshots.json").read_text())
    features = pd.read_parquet(features_dir / "features.parquet")
    horizons = {name: entry["horizon_days"] for name, entry in plan["targets"].items()}
    cutoffs = modelling_cutoffs(plan, params.train.max_training_snapshots)
    frames = []
    with progress_bar() as bar:
        task = bar.add_task("BG/NBD + Gamma-Gamma per cutoff", total=len(cutoffs))
        for as_of in cutoffs:
            at_cutoff = features[features["as_of"] == as_of]
            frames.append(bgnbd_features(at_cutoff, horizons).assign(as_of=as_of))
            bar.advance(task)
    out = pd.concat(frames, ignore_index=True)
    params.paths.bgnbd.parent.mkdir(parents=True, exist_ok=True)
    tmp = params.paths.bgnbd.with_name(params.paths.bgnbd.name + ".tmp")
    write_parquet(out, tmp)
    tmp.replace(params.paths.bgnbd)
    Console(stderr=True).print(f"[bold]bgnbd[/bold]: {len(out):,} rows over {len(cutoffs)} cutoffs")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    main(parser.parse_args().params)
