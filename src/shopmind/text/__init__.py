"""The language model: encoders, item-text templates, the embedding cache, the vector index and
fine-tuning on the shop's own co-interactions."""

from shopmind.text.encoder import (
    DEFAULT_MODEL,
    EncoderNotFound,
    EncoderSettings,
    TextEncoder,
    load_encoder,
)
from shopmind.text.item_text import TextTemplate, item_texts

__all__ = [
    "DEFAULT_MODEL",
    "EncoderNotFound",
    "EncoderSettings",
    "TextEncoder",
    "TextTemplate",
    "item_texts",
    "load_encoder",
]
