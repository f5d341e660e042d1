"""shopmind: e-commerce recommendations driven by a language model."""

__version__ = "0.1.0"
