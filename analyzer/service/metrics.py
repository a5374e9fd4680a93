"""Prometheus metrics of one app instance (own registry, so several apps can live in one process)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    ingested: Counter
    duplicates: Counter
    alerts: Counter
    analyzed: Counter
    model_ready: Gauge

    @classmethod
    def create(cls) -> Metrics:
        reg = CollectorRegistry()
        return cls(
            registry=reg,
            requests=Counter("darkfeedback_http_requests_total", "HTTP requests", ["method", "route", "status"],
                             registry=reg),
            latency=Histogram("darkfeedback_http_request_seconds", "HTTP request latency", ["method", "route"],
                              registry=reg, buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)),
            ingested=Counter("darkfeedback_ingested_total", "Records stored", ["kind"], registry=reg),
            duplicates=Counter("darkfeedback_ingest_duplicates_total", "Retried records ignored", ["kind"],
                               registry=reg),
            alerts=Counter("darkfeedback_alerts_raised_total", "Alerts raised", registry=reg),
            analyzed=Counter("darkfeedback_texts_analyzed_total", "Texts through the text pipeline", registry=reg),
            model_ready=Gauge("darkfeedback_model_ready", "1 once the text models are loaded", registry=reg),
        )
