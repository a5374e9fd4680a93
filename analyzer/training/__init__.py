"""analyzer.training."""
