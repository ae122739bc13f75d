"""Data sources made up for the pipeline: the seeded synthetic shop and the oracle on its truth."""
