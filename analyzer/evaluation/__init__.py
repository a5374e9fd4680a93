"""Evaluation and simulation code (never imported by runtime code): text metrics, PII cases,
forward-in-time real-data evaluation of the alerts, the simulator and its end-to-end evaluation."""

__all__: list[str] = []
