"""One metric datapoint, printed at once as an EMF line (for handlers that count an event, not a whole invocation)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit


def emit_metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """Powertools' `single_metric` prints even when POWERTOOLS_METRICS_DISABLED is set (the demo and the benches set
    it to keep their output readable); an EphemeralMetrics flush honours it. Not the Metrics singleton: nothing is
    left behind for another handler's flush."""
    metrics = EphemeralMetrics()
    metrics.add_metric(name=name, unit=unit, value=value)
    for key, dimension in dimensions.items():
        metrics.add_dimension(name=key, value=dimension)
    metrics.flush_metrics()
