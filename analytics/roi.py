# ruff: noqa: RUF001 - the formulas are shown to people with the multiplication and minus signs
"""The co-browse programme's return on investment: inputs in, every output with its formula.

Money is ``Decimal`` throughout and rounded to cents once, at the end (hours and the multiple to
two places): rounding the intermediate figures would make the totals disagree with the lines.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MINUTES_PER_HOUR = Decimal(60)
MONTHS_PER_YEAR = Decimal(12)
MULTIPLE_FORMULA = "net monthly ÷ monthly cost (none when the cost is zero)"


class RoiInputError(ValueError):
    """An input is missing, not a number, or negative; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RoiInputs:
    sessions: Decimal
    avg_minutes: Decimal
    hourly_cost: Decimal
    licence: Decimal
    tickets_prevented_per_session: Decimal
    ticket_cost: Decimal
    resolved_sessions: Decimal
    baseline_minutes: Decimal
    enterprise_customers: Decimal
    mrr: Decimal
    uplift_pct: Decimal
    kb_articles: Decimal
    kb_article_value: Decimal
    training_cost: Decimal = Decimal(0)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def parse(cls, raw: dict[str, Any], defaults: dict[str, Decimal]) -> RoiInputs:
        """Inputs from a form or query string; one left out (or blank) takes its default."""
        values: dict[str, Decimal] = {}
        for name in cls.names():
            text = raw.get(name)
            if text is None or str(text).strip() == "":
                if name not in defaults:
                    raise RoiInputError(name, "is required.")
                values[name] = Decimal(defaults[name])
                continue
            try:
                value = Decimal(str(text).strip().replace(",", ""))
            except InvalidOperation:
                raise RoiInputError(name, "must be a number.") from None
            if not value.is_finite() or value < 0:
                raise RoiInputError(name, "must be a number of zero or more.")
            if abs(value) >= Decimal("1e12"):
                raise RoiInputError(name, "is too large.")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class RoiLine:
    name: str
    label: str
    value: Decimal
    formula: str
    unit: str  # "money", "hours" or "times"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def calculate(i: RoiInputs) -> list[RoiLine]:
    """Every output of the calculator, in reading order."""
    monthly_cost = i.licence + i.sessions * i.avg_minutes / MINUTES_PER_HOUR * i.hourly_cost
    tickets_value = i.sessions * i.tickets_prevented_per_session * i.ticket_cost
    hours_saved = i.resolved_sessions * (i.baseline_minutes - i.avg_minutes) / MINUTES_PER_HOUR
    time_value = hours_saved * i.hourly_cost
    mrr_protected = i.enterprise_customers * i.mrr * i.uplift_pct / 100
    kb_value = i.kb_articles * i.kb_article_value
    benefits = tickets_value + time_value + mrr_protected + kb_value
    net = benefits - monthly_cost
    annual = net * MONTHS_PER_YEAR
    multiple = net / monthly_cost if monthly_cost else None  # no cost, no multiple
    multiple_line: list[RoiLine] = []
    if multiple is not None:
        multiple_line.append(RoiLine("multiple", "Multiple", multiple, MULTIPLE_FORMULA, "times"))
    lines = [
        RoiLine("monthly_cost", "Monthly cost", monthly_cost,
                "licence + sessions × average minutes ÷ 60 × hourly cost", "money"),
        RoiLine("tickets_prevented_value", "Tickets prevented", tickets_value,
                "sessions × tickets prevented per session × cost per ticket", "money"),
        RoiLine("hours_saved", "Agent hours saved", hours_saved,
                "resolved sessions × (baseline minutes − average minutes) ÷ 60", "hours"),
        RoiLine("time_saved_value", "Value of the hours saved", time_value,
                "hours saved × hourly cost", "money"),
        RoiLine("mrr_protected", "MRR protected", mrr_protected,
                "enterprise customers × MRR × retention uplift % ÷ 100", "money"),
        RoiLine("kb_value", "Knowledge-base value", kb_value,
                "articles × value per article", "money"),
        RoiLine("total_benefits", "Total benefits", benefits,
                "tickets prevented + value of hours saved + MRR protected + knowledge-base value", "money"),
        RoiLine("net_monthly", "Net monthly", net, "total benefits − monthly cost", "money"),
        *multiple_line,
        RoiLine("annual_net", "Annual net", annual, "net monthly × 12", "money"),
        RoiLine("annual_net_after_training", "Annual net after training", annual - i.training_cost,
                "annual net − one-time training cost", "money"),
    ]  # fmt: skip
    return [RoiLine(line.name, line.label, _money(line.value), line.formula, line.unit) for line in lines]


def as_json(inputs: RoiInputs, lines: list[RoiLine]) -> dict[str, Any]:
    """Numbers as strings of exact decimals (a float would lose cents)."""
    return {
        "inputs": {name: str(getattr(inputs, name)) for name in RoiInputs.names()},
        "multiple": None,  # no cost, no multiple
        **{line.name: str(line.value) for line in lines},
        "formulas": {line.name: line.formula for line in lines},
    }
