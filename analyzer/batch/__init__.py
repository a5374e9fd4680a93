"""analyzer.batch."""
