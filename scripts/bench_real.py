"""Benchmark on real shops: the whole pipeline with default params, only the source changed.

For each data set, copies the repository into a fresh folder, points ``ingest.source`` at the
data (nothing else changes), runs the real ``dvc repro`` and reads back what a reviewer would:
per target every candidate and baseline with intervals, the validation-to-holdout gap, the scorer
that serves, the horizons, the exported rows, the runtime and the peak memory. Writes
``reports/bench_real.json`` and prints the README table.

Data sets (read from ../shared/data; skipped, with the reason, when absent):
- ``full``: the whole Online Retail II (1,067,371 rows, 5,942 customers, two years);
- ``sample``: its 262-customer country sample;
- ``short``: the last nine months of the full data (a short purchase-only history).

    python scripts/bench_real.py [--only full sample short] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from features.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
FULL = SHARED / "online_retail_ii" / "online_retail_ii.csv.gz"
SAMPLE = SHARED / "online_retail_ii_sample" / "online_retail_ii_sample.csv.gz"
SHORT_FROM = "2011-03-01"  # the short history: the last nine months of the full data
PEAK_WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(r.returncode)"
)


def copy_repo(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def short_history(folder: Path) -> Path:
    """The full data from SHORT_FROM on, as the shop would export it."""
    raw = pd.read_csv(FULL, dtype=str, keep_default_na=False)
    path = folder / "online_retail_ii_short.csv.gz"
    raw[raw["InvoiceDate"] >= SHORT_FROM].to_csv(path, index=False)
    return path


def run_dataset(name: str, source: Path, work: Path, overrides: list[str] = ()) -> dict:
    dest = work / name
    dest.mkdir(parents=True)
    copy_repo(dest)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["ingest"]["source"].update(
        {"kind": "online_retail_ii", "path": str(source), "customers_path": None}
    )
    for override in overrides:  # a variant, like `dvc exp run -S key=value`
        key, value = override.split("=", 1)
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=dest, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    peak_file = work / f"{name}.peak"
    # A wrapper process runs `dvc repro`, so its children's peak RSS is this data set's alone.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_WRAPPER,
            str(peak_file),
            str(Path(sys.executable).parent / "dvc"),
            "repro",
        ],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    (work / f"{name}.log").write_text(result.stdout + result.stderr)
    peak = round(int(peak_file.read_text()) / 1024, 1) if peak_file.exists() else None
    timing = {"seconds": round(seconds, 1), "peak_rss_mib": peak}
    if result.returncode != 0:
        return {"ok": False, **timing, "error": result.stderr[-3000:]}
    return {"ok": True, **timing, **read_results(dest)}


def read_results(dest: Path) -> dict:
    ingest = json.loads((dest / "reports" / "ingest.json").read_text())
    plan = json.loads((dest / "data" / "features" / "snapshots.json").read_text())["targets"]
    targets = {}
    for target in TARGETS:
        report = json.loads((dest / "reports" / "evaluate" / f"{target}.json").read_text())
        headline = report["headline_metric"]
        targets[target] = {
            "headline": headline,
            "horizon_days": report["horizon_days"],
            "training_horizon_days": report["training_horizon_days"],
            "backtested": report["backtested"],
            "holdout": plan[target]["holdout"][:10],
            "holdout_rows": report["holdout_rows"],
            "scores": {n: m[headline] for n, m in report["scores"].items() if headline in m},
            "best_baseline": report["best_baseline"],
            "candidates": report["candidates"],
            "candidate_minus_best_baseline": report["candidate_minus_best_baseline"],
            "candidate_minus_probabilistic": report.get("candidate_minus_probabilistic", {}),
            "validation_to_holdout_gap": report["validation_to_holdout_gap"],
            "selection": report["selection"],
            "champion": report["champion"],
        }
    latest = (dest / "exports" / "latest").resolve()
    manifest = json.loads((latest / "manifest.json").read_text()) if latest.exists() else None
    return {
        "ingest": {
            k: ingest[k]
            for k in ("rows_read", "accepted", "anonymous", "quarantined", "duplicates_removed")
        },
        "customers": ingest["customers"],
        "targets": targets,
        "exported_rows": manifest["rows"] if manifest else 0,
        "served_by": {t: m.get("scorer") for t, m in manifest["models"].items()}
        if manifest
        else None,
    }


def table(results: dict) -> str:
    """The README table: one row per data set and target."""
    lines = [
        "| data | target (headline) | horizon: served / trained / judged | best baseline | "
        "candidates: holdout minus best baseline [95% CI] | boosted_prior minus BG/NBD | "
        "validation-to-holdout gap | serves |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["datasets"].items():
        if not entry.get("ok"):
            lines.append(f"| {name} | {entry.get('skipped') or 'failed'} | | | | | | |")
            continue
        for target, t in entry["targets"].items():
            judged = t["horizon_days"] if t["backtested"] else t["training_horizon_days"]
            base = t["scores"][t["best_baseline"]]
            diffs = "; ".join(
                f"{c} {t['scores'][c]['value']:.3f} ({d['value']:+.3f} "
                f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}])"
                for c, d in t["candidate_minus_best_baseline"].items()
            )
            gaps = "; ".join(
                f"{c} {g['gap']:+.3f}" for c, g in t["validation_to_holdout_gap"].items()
            )
            boosted = t.get("candidate_minus_probabilistic", {}).get("boosted_prior")
            versus = (
                f"{boosted['value']:+.3f} [{boosted['ci_low']:+.3f}, {boosted['ci_high']:+.3f}]"
                if boosted
                else "n/a"
            )
            lines.append(
                f"| {name} | {target} ({t['headline']}) | {t['horizon_days']} / "
                f"{t['training_horizon_days']} / {judged} | {t['best_baseline']} "
                f"{base['value']:.3f} | {diffs} | {versus} | {gaps} | **{t['champion']}** |"
            )
    lines.append("")
    lines.append("| data | exported rows | runtime | peak memory |")
    lines.append("|---|---|---|---|")
    for name, entry in results["datasets"].items():
        if entry.get("ok"):
            lines.append(
                f"| {name} | {entry['exported_rows']:,} | {entry['seconds'] / 60:.1f} min | "
                f"{entry['peak_rss_mib'] or 0:,.0f} MiB |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["full", "sample", "short"])
    parser.add_argument("--keep", help="run in this folder and keep it (default: a temp folder)")
    parser.add_argument("--out", default=str(REPO / "reports" / "bench_real.json"))
    parser.add_argument(
        "--set", action="append", default=[], help="params override KEY=VALUE (a variant)"
    )
    parser.add_argument(
        "--table", metavar="JSON", help="only print the table of an earlier run's results"
    )
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(Path(args.table).read_text())))
        return
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-real-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"commit": _commit(), "overrides": args.set, "datasets": {}}
    for name in args.only:
        source = {"full": FULL, "sample": SAMPLE, "short": FULL}[name]
        if not source.exists():
            reason = f"skipped: {source} is absent (../shared/data not beside the repository)"
            print(reason, file=sys.stderr)
            results["datasets"][name] = {"ok": False, "skipped": reason}
            continue
        if name == "short":
            source = short_history(work)
        print(f"bench-real: {name} ({source}) ...", file=sys.stderr, flush=True)
        entry = run_dataset(name, source, work, args.set)
        results["datasets"][name] = entry
        print(f"bench-real: {name}: ok={entry['ok']} in {entry['seconds']} s", file=sys.stderr)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip()


if __name__ == "__main__":
    main()
