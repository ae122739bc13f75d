"""Control groups in the segment report ("Power and measurement"): before a campaign, what each
segment's control group can detect. What the campaign added is `reporting.measurement`'s page."""

from __future__ import annotations

import html

import pandas as pd

from reporting import formats
from reporting.page import table

NO_CONTROL = "no control customers in this segment"


def _power_cells(row, currency: str) -> list[str]:
    """One segment's row: group sizes, predicted outcomes and the smallest detectable lifts."""
    return [
        html.escape(str(row.segment)),
        formats.count(row.target),
        formats.count(row.control),
        formats.percent(row.predicted_purchase_rate),
        formats.percent(row.mde_purchase_rate, NO_CONTROL),
        formats.percent(row.mde_purchase_rate_relative, NO_CONTROL, digits=0),
        formats.money(row.predicted_revenue_per_customer, currency),
        formats.money(row.mde_revenue_per_customer, currency, NO_CONTROL),
        formats.percent(row.mde_revenue_relative, NO_CONTROL, digits=0),
        "yes" if row.measurable else "too small",
    ]


def power_body(power: pd.DataFrame, currency: str) -> str:
    """Per segment, the smallest lift its control group can detect, before any money is spent."""
    days = int(power["horizon_days"].iloc[0])
    header = [
        "Segment",
        "Target",
        "Control",
        "Predicted purchase rate",
        "Detectable lift (points)",
        "Detectable lift (relative)",
        "Predicted revenue per customer",
        "Detectable lift in revenue",
        "Detectable lift (relative)",
        "Measurable",
    ]
    rows = [_power_cells(row, currency) for row in power.itertuples(index=False)]
    return (
        "<p>Consenting customers in each group (control customers are in no activation file), "
        "and the minimum detectable effect (80% power, 5% level) on the purchase rate and revenue "
        f"per customer over {days} days, from the predicted rates. A segment marked too small "
        "cannot show a lift of a plausible size: measure it with others, or raise "
        "<code>score.control.share</code>. After the campaign, <code>segments measure</code> "
        "reports what it added.</p>" + table(header, rows)
    )
