"""Figures and their statistics: one value per run, reported as median with min-max."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "Results", "percentile", "rate"]


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0..1) percentile of ``values``, linearly interpolated; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    below, above, fraction = ordered[low], ordered[high], position - low
    if math.isinf(below) or (math.isinf(above) and fraction > 0):
        return math.inf  # a share of the values never happened: infinitely late
    return below + (above - below) * fraction


def rate(count: int, first: float, last: float) -> float:
    """Events per second for ``count`` events whose first and last happened at those times.

    ``count - 1`` intervals lie between the first and the last event.
    """
    if count < 2 or last <= first:
        return math.nan
    return (count - 1) / (last - first)


@dataclass
class Figure:
    """One measured quantity of one scenario on one transport, one value per run."""

    transport: str
    scenario: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        """``transport.scenario.name``: how JSON, ratios and targets refer to it."""
        return f"{self.transport}.{self.scenario}.{self.name}"

    @property
    def finite(self) -> list[float]:
        """The runs that produced a value (infinity included: "never, within the wait")."""
        return [value for value in self.values if not math.isnan(value)]

    @property
    def median(self) -> float:
        """Median over the runs (NaN when none produced a value)."""
        values = self.finite
        return statistics.median(values) if values else math.nan

    @property
    def low(self) -> float:
        """The smallest run's value."""
        return min(self.finite, default=math.nan)

    @property
    def high(self) -> float:
        """The largest run's value."""
        return max(self.finite, default=math.nan)

    def as_json(self) -> dict[str, Any]:
        """The figure as a JSON object (NaN becomes ``null``)."""

        def clean(value: float) -> float | str | None:
            if math.isinf(value):
                return "inf"
            return round(value, 3) if math.isfinite(value) else None

        return {
            "key": self.key,
            "transport": self.transport,
            "scenario": self.scenario,
            "name": self.name,
            "unit": self.unit,
            "median": clean(self.median),
            "min": clean(self.low),
            "max": clean(self.high),
            "runs": [clean(value) for value in self.values],
        }


@dataclass
class Results:
    """Every figure of one bench invocation, in the order they were first recorded."""

    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each measurement (setup and teardown included), by label."""

    def record(
        self,
        transport: str,
        scenario: str,
        values: Iterable[tuple[str, str, float]],
    ) -> None:
        """Append one run's ``(name, unit, value)`` triples to their figures."""
        for name, unit, value in values:
            figure = Figure(transport, scenario, name, unit)
            self.figures.setdefault(figure.key, figure).values.append(value)

    def get(self, key: str) -> Figure | None:
        """The figure ``transport.scenario.name``, if measured."""
        return self.figures.get(key)

    def median(self, key: str) -> float:
        """The median of ``key``, NaN when it was not measured."""
        figure = self.figures.get(key)
        return figure.median if figure is not None else math.nan
