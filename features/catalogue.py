"""The feature catalogue: family, unit, description and a plain-language phrase for each feature.

Phrases are ``str.format`` templates over ``value``; scoring uses them to explain predictions
("143 days since the last order"). A test keeps the catalogue and the feature table in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from features.definitions import ACTIVITY_TYPES, FeatureRules

KEY_COLUMNS = ("customer_id", "as_of")
_ACTIVITY_WORDS = {
    "page_view": ("page views", "page view"),
    "product_view": ("product views", "product view"),
    "add_to_cart": ("add-to-cart events", "add to cart"),
    "remove_from_cart": ("items removed from cart", "cart removal"),
    "checkout_start": ("checkouts started", "checkout start"),
    "email_open": ("emails opened", "email open"),
    "email_click": ("email clicks", "email click"),
    "support_ticket": ("support tickets", "support ticket"),
}


@dataclass(frozen=True)
class FeatureInfo:
    name: str
    family: str
    unit: str
    description: str
    phrase: str
    kind: str = "numeric"  # numeric | categorical

    def render(self, value) -> str:
        if "{value" not in self.phrase:  # a fixed phrase (e.g. a reason with no input value)
            return self.phrase
        if value is None or value != value:  # None or NaN
            return f"{self.description}: unknown"
        try:
            return self.phrase.format(value=value)
        except (ValueError, TypeError):
            return f"{self.description}: {value}"


def _rfm_entries(rules: FeatureRules) -> list[FeatureInfo]:
    entries = [
        FeatureInfo(
            "orders_total", "frequency", "orders", "orders so far", "{value:.0f} orders so far"
        ),
        FeatureInfo(
            "spend_total", "monetary", "currency", "gross spend so far", "spent {value:,.0f} so far"
        ),
        FeatureInfo(
            "avg_order_value",
            "basket",
            "currency",
            "average order value",
            "average order {value:,.0f}",
        ),
        FeatureInfo(
            "max_order_value", "basket", "currency", "largest order", "largest order {value:,.0f}"
        ),
        FeatureInfo(
            "avg_items_per_order",
            "basket",
            "items",
            "items per order",
            "{value:.1f} items per order",
        ),
        FeatureInfo(
            "avg_lines_per_order",
            "basket",
            "lines",
            "distinct lines per order",
            "{value:.1f} products per order",
        ),
        FeatureInfo(
            "days_since_last_order",
            "recency",
            "days",
            "days since the last order",
            "no order in {value:.0f} days",
        ),
        FeatureInfo(
            "days_since_first_order",
            "tenure",
            "days",
            "days since the first order",
            "first order {value:.0f} days ago",
        ),
    ]
    for w in rules.order_windows_days:
        entries.append(
            FeatureInfo(
                f"orders_{w}d",
                "frequency",
                "orders",
                f"orders in the last {w} days",
                f"{{value:.0f}} orders in the last {w} days",
            )
        )
        entries.append(
            FeatureInfo(
                f"spend_{w}d",
                "monetary",
                "currency",
                f"spend in the last {w} days",
                f"spent {{value:,.0f}} in the last {w} days",
            )
        )
    if rules.seasonal_window_days:
        w = rules.seasonal_window_days
        entries += [
            FeatureInfo(
                "orders_same_season_last_year",
                "seasonality",
                "orders",
                f"orders in the same {w} days a year earlier",
                f"{{value:.0f}} orders in the same {w} days last year",
            ),
            FeatureInfo(
                "spend_same_season_last_year",
                "seasonality",
                "currency",
                f"spend in the same {w} days a year earlier",
                f"spent {{value:,.0f}} in the same {w} days last year",
            ),
        ]
    return entries


def _other_entries() -> list[FeatureInfo]:
    return [
        FeatureInfo(
            "mean_interorder_days",
            "intervals",
            "days",
            "mean days between orders",
            "orders every {value:.0f} days on average",
        ),
        FeatureInfo(
            "std_interorder_days",
            "intervals",
            "days",
            "spread of days between orders",
            "order gaps vary by {value:.0f} days",
        ),
        FeatureInfo(
            "max_interorder_days",
            "intervals",
            "days",
            "longest gap between orders",
            "longest gap between orders {value:.0f} days",
        ),
        FeatureInfo(
            "refunds_total",
            "refunds",
            "refunds",
            "refunded orders so far",
            "{value:.0f} refunds so far",
        ),
        FeatureInfo(
            "refund_amount_total",
            "refunds",
            "currency",
            "refunded value so far",
            "refunds worth {value:,.0f}",
        ),
        FeatureInfo(
            "refunds_90d",
            "refunds",
            "refunds",
            "refunds in the last 90 days",
            "{value:.0f} refunds in the last 90 days",
        ),
        FeatureInfo(
            "categories_bought",
            "categories",
            "categories",
            "distinct categories bought",
            "bought from {value:.0f} categories",
        ),
        FeatureInfo(
            "category_concentration",
            "categories",
            "index 0-1",
            "concentration of purchases in few categories (Herfindahl)",
            "category concentration {value:.2f}",
        ),
        FeatureInfo(
            "active_days_30d",
            "engagement",
            "days",
            "days with any activity in the last 30 days",
            "active on {value:.0f} of the last 30 days",
        ),
        FeatureInfo("country", "attributes", "", "country", "from {value}", "categorical"),
        FeatureInfo(
            "acquisition_channel",
            "attributes",
            "",
            "acquisition channel",
            "acquired via {value}",
            "categorical",
        ),
        FeatureInfo(
            "tenure_days",
            "tenure",
            "days",
            "days since first seen",
            "customer for {value:.0f} days",
        ),
        FeatureInfo(
            "net_spend_total",
            "monetary",
            "currency",
            "spend minus refunds so far",
            "net spend {value:,.0f}",
        ),
        FeatureInfo(
            "refund_rate",
            "refunds",
            "share",
            "share of spend refunded",
            "{value:.0%} of spend refunded",
        ),
        FeatureInfo(
            "order_trend_30_90",
            "trend",
            "orders",
            "orders in the last 30 days minus the 90-day monthly average",
            "order trend {value:+.1f} per month",
        ),
        FeatureInfo(
            "spend_trend_90_365",
            "trend",
            "currency",
            "spend in the last 90 days minus the yearly quarterly average",
            "spend trend {value:+,.0f} per quarter",
        ),
        FeatureInfo(
            "recency_over_interval",
            "recency",
            "ratio",
            "days since last order over the usual gap",
            "last order {value:.1f}x the usual gap ago",
        ),
        FeatureInfo(
            "email_click_rate_90d",
            "engagement",
            "share",
            "email clicks per open in the last 90 days",
            "clicks {value:.0%} of opened emails",
        ),
        FeatureInfo(
            "cart_adds_per_order_90d",
            "engagement",
            "ratio",
            "add-to-cart events per order in the last 90 days",
            "{value:.1f} cart adds per order",
        ),
    ]


def _activity_entries(rules: FeatureRules) -> list[FeatureInfo]:
    entries = []
    for kind in ACTIVITY_TYPES:
        plural, singular = _ACTIVITY_WORDS[kind]
        for w in rules.activity_windows_days:
            entries.append(
                FeatureInfo(
                    f"{kind}_{w}d",
                    "engagement",
                    "events",
                    f"{plural} in the last {w} days",
                    f"{{value:.0f}} {plural} in the last {w} days",
                )
            )
        entries.append(
            FeatureInfo(
                f"days_since_last_{kind}",
                "engagement recency",
                "days",
                f"days since the last {singular}",
                f"last {singular} {{value:.0f}} days ago",
            )
        )
    return entries


def build_catalogue(rules: FeatureRules) -> list[FeatureInfo]:
    """Every feature the definitions produce, in the feature table's column order."""
    return _rfm_entries(rules) + _other_entries() + _activity_entries(rules)


def catalogue_records(rules: FeatureRules) -> list[dict]:
    return [asdict(info) for info in build_catalogue(rules)]
