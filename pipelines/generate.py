"""DVC stage ``generate``: write the seeded synthetic shop (events, customers, latent truth)."""

from __future__ import annotations

import argparse

from rich.console import Console

from pipelines.config import load_params
from pipelines.files import atomic_dir
from pipelines.io import write_parquet
from synthetic.shop import generate_shop


def main(params_path: str = "params.yaml", console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    params = load_params(params_path)
    shop = generate_shop(params.synthetic, seed=params.seed)
    with atomic_dir(params.paths.raw_dir) as out:
        write_parquet(shop.events, out / "events.parquet")
        write_parquet(shop.customers, out / "customers.parquet")
        write_parquet(shop.latent, out / "latent.parquet")
    console.print(
        f"[bold]generate[/bold]: {len(shop.events):,} raw events for "
        f"{len(shop.customers):,} customers -> {params.paths.raw_dir}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    main(parser.parse_args().params)
