"""DVC stage ``bgnbd``: BG/NBD + Gamma-Gamma fitted at every modelling cutoff (point in time).

Writes the per-customer columns (``paths.bgnbd``) and the fitted parameters per cutoff
(``paths.bgnbd_params``), which the probabilistic scorers of the ``train`` stage embed."""

from __future__ import annotations

import argparse

import pandas as pd
from rich.console import Console

from models.bgnbd import bgnbd_features
from models.frames import modelling_cutoffs, training_horizon
from pipelines.config import load_params
from pipelines.files import atomic_file
from pipelines.inputs import load_features, load_plan
from pipelines.io import write_json, write_parquet
from pipelines.progress import progress_bar


def main(params_path: str = "params.yaml") -> pd.DataFrame:
    params = load_params(params_path)
    plan, features = load_plan(params), load_features(params)
    horizons = {name: training_horizon(entry) for name, entry in plan["targets"].items()}
    cutoffs = modelling_cutoffs(
        plan,
        params.train.max_training_snapshots,
        params.train.cv_folds,
        params.train.fold_spacing_days,
    )
    frames, fitted = [], {}
    with progress_bar() as bar:
        task = bar.add_task("BG/NBD + Gamma-Gamma per cutoff", total=len(cutoffs))
        for as_of in cutoffs:
            at_cutoff = features[features["as_of"] == as_of]
            columns, found = bgnbd_features(at_cutoff, horizons)
            frames.append(columns.assign(as_of=as_of))
            fitted[as_of.isoformat()] = None if found is None else found.to_dict()
            bar.advance(task)
    out = pd.concat(frames, ignore_index=True)
    with atomic_file(params.paths.bgnbd) as tmp:
        write_parquet(out, tmp)
    write_json({"horizon_days": horizons, "cutoffs": fitted}, params.paths.bgnbd_params)
    Console(stderr=True).print(f"[bold]bgnbd[/bold]: {len(out):,} rows over {len(cutoffs)} cutoffs")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    main(parser.parse_args().params)
