"""analyzer.io."""
