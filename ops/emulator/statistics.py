"""Percentile statistics (`p99`, `p50`, ...) in GetMetricData and GetMetricStatistics.

CloudWatch answers extended statistics such as `p99` wherever it answers `Average` ("Statistics
definitions", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html);
moto 5.2.5 answers only Sum, Average, Minimum, Maximum and SampleCount and returns nothing for
a percentile. Here a percentile is computed the way the alarm evaluator computes it
(`ops.emulator.alarms.reduce`: nearest rank on the raw values), so a graph of p99 latency and
the alarm on p99 latency see the same numbers.
"""

from __future__ import annotations

from typing import Any

from ops.emulator import alarms
from ops.emulator.patching import Patch


def _stock() -> Any:
    from moto.cloudwatch.models import Statistics

    return vars(Statistics)["get_statistics_for_type"]


_stock_statistic = _stock()


def _statistic(self: Any, stat: str) -> Any:
    if stat.lower().startswith("p"):
        return alarms.reduce(stat, list(self.metric_data))
    return _stock_statistic(self, stat)


def patches() -> list[Patch]:
    from moto.cloudwatch.models import Statistics

    return [(Statistics, "get_statistics_for_type", _statistic)]
