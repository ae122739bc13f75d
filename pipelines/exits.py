"""Exit codes of the stages and the ``segments`` command, each with its meaning, and the refusal
that carries one.

Batch jobs branch on these numbers (README "For batch jobs"), so a number never changes meaning: a
new kind of refusal gets a new number. Code raises `ScoringError` (or the domain's own error, such
as `features.ingest.IngestError`); only the edge, a stage's ``__main__`` or the CLI, turns it into
an exit code.
"""

from __future__ import annotations

EXIT_OK, EXIT_NOT_FOUND, EXIT_INPUT_REFUSED = 0, 1, 2
EXIT_NO_MODEL, EXIT_SCHEMA, EXIT_NO_DATA, EXIT_DRIFT, EXIT_UNWRITABLE = 3, 4, 5, 6, 7
EXIT_BUSY = 8
EXIT_UNSAFE_MODEL = 9
EXIT_TOO_EARLY, EXIT_NOT_MEASURABLE, EXIT_NO_UPLIFT_MODEL = 10, 11, 12

MEANINGS = {
    EXIT_OK: "success",
    EXIT_NOT_FOUND: "explain, measure: no export, or the customer id is not in it",
    EXIT_INPUT_REFUSED: "ingest: input it refuses (missing, empty, unmapped, too many rejects)",
    EXIT_NO_MODEL: "score: no model registered under the alias",
    EXIT_SCHEMA: "score: the model's signature does not match the features",
    EXIT_NO_DATA: "score: empty or insufficient data at the cutoff",
    EXIT_DRIFT: "score: the drift guard refuses the input (a check over its score.drift limit)",
    EXIT_UNWRITABLE: "score: the export cannot be written",
    EXIT_BUSY: "score: another export is being written to this folder",
    EXIT_UNSAFE_MODEL: "score: the registered model is not in the JSON format this version loads",
    EXIT_TOO_EARLY: "measure: too early (no events after the as-of, or under campaign.min_days)",
    EXIT_NOT_MEASURABLE: "measure, uplift: no control group in the export (or too few in it), or "
    "an unusable contacted file",
    EXIT_NO_UPLIFT_MODEL: "score: score.uplift.model names no readable uplift model",
}


class ScoringError(RuntimeError):
    """A refusal with an exit code, a one-line cause and a hint for the operator."""

    def __init__(self, code: int, cause: str, hint: str):
        super().__init__(cause)
        self.code, self.cause, self.hint = code, cause, hint


def unwritable(error: OSError) -> ScoringError:
    """The refusal when the export cannot be written (``EXIT_UNWRITABLE``)."""
    return ScoringError(
        EXIT_UNWRITABLE,
        f"cannot write the export: {error}",
        "check --out points at a writable folder with free space",
    )
