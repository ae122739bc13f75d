"""Control groups in the segment report ("Power and measurement"): before a campaign, what each
segment's control group can detect. What the campaign added is `reporting.measurement`'s page."""

from __future__ import annotations

import pandas as pd


def table_of(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda v: f"{v:,.4g}", escape=True)


def power_body(power: pd.DataFrame) -> str:
    """Per segment, the smallest lift its control group can detect, before any money is spent."""
    days = int(power["horizon_days"].iloc[0])
    shown = power.drop(columns=["horizon_days"]).assign(
        measurable=power["measurable"].map({True: "yes", False: "too small"})
    )
    return (
        "<p>Consenting customers in each group (control customers are in no activation file), "
        "and the minimum detectable effect (80% power, 5% level) on the purchase rate and revenue "
        f"per customer over {days} days, from the predicted rates. A segment marked too small "
        "cannot show a lift of a plausible size: measure it with others, or raise "
        "<code>score.control.share</code>. After the campaign, <code>segments measure</code> "
        "reports what it added.</p>" + table_of(shown)
    )
