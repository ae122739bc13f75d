"""Training, tuning, calibration, evaluation, explanation and scoring code (no model files)."""
