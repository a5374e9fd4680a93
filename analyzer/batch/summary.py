"""What a batch run did, the same for every engine: counts that always add up."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BatchSummary", "check_invariant"]


def check_invariant(read: int, written: int, rejected: int, by_reason: dict[str, int]) -> None:
    # Explicit raise rather than `assert`, so `python -O` cannot switch off the row accounting.
    if read != written + rejected or rejected != sum(by_reason.values()):
        raise RuntimeError(
            f"Row accounting broken: read={read}, written={written}, rejected={rejected}, "
            f"by reason={by_reason}. This is a bug in analyzer.batch; please report it.")


@dataclass
class BatchSummary:
    """What a batch run did. ``rows_read == rows_written + rows_rejected`` always holds.

    Counts cover the whole input, including rows done before a resume (``resumed_from`` says how
    many records a previous run had already consumed); ``elapsed_s`` and ``rows_per_s`` cover
    this run only. ``max_reject_rate`` is the bar the run was held to.
    """

    rows_read: int
    rows_written: int
    rows_rejected: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    rows_per_s: float = 0.0
    resumed_from: int = 0
    input_path: str = ""
    output_path: str = ""
    rejected_path: str = ""
    engine: str = "local"
    max_reject_rate: float = 1.0

    def __post_init__(self) -> None:
        check_invariant(self.rows_read, self.rows_written, self.rows_rejected, self.rejected_by_reason)

    @property
    def reject_rate(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    @property
    def too_many_rejected(self) -> bool:
        """Over the bar, or every row rejected (a run that analysed nothing did not succeed)."""
        if self.rows_read == 0:
            return False
        return self.rows_written == 0 or self.reject_rate > self.max_reject_rate

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reject_rate": round(self.reject_rate, 6),
                "too_many_rejected": self.too_many_rejected}
