"""Data files of the package (the default taxonomy)."""

__all__: list[str] = []
