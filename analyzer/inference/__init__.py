"""analyzer.inference."""
