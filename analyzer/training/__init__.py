"""Training of the heads on the public datasets (never imported by runtime code; needs the ``train`` extra)."""

__all__: list[str] = []
