"""Recommenders behind one protocol: fit on a Dataset, score histories."""

from shopmind.models.base import ModelConfig, Recommender, recommend, top_k
from shopmind.models.registry import make_model, model_class, model_names

__all__ = [
    "ModelConfig",
    "Recommender",
    "make_model",
    "model_class",
    "model_names",
    "recommend",
    "top_k",
]
