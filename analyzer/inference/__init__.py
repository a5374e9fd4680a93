"""Inference engines: the ONNX Runtime int8 backend (default), the torch fp32 reference, the model registry
and the offline rebuild of the encoder. Nothing is imported or loaded here."""

__all__: list[str] = []
