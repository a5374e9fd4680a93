"""analyzer.evaluation."""
