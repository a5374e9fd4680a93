"""The engine protocol: what the CLI, the service's jobs and notebooks call to run a batch.

An engine takes a :class:`~analyzer.batch.spec.BatchSpec` and a processing function (local) or
a factory of one (Ray: each worker builds its own), follows the shared plan, validation,
checkpoints and summary, and returns a :class:`~analyzer.batch.summary.BatchSummary`.
"""

from __future__ import annotations

from typing import Any, Protocol

from analyzer.batch.spec import BatchSpec
from analyzer.batch.summary import BatchSummary

__all__ = ["Engine"]


class Engine(Protocol):
    name: str

    def run(self, spec: BatchSpec, process: Any) -> BatchSummary: ...
