"""analyzer.text."""
