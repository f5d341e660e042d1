"""Every model by its short name, for configs, saved folders and the CLI."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from shopmind.models.base import Recommender

#: name -> "module:Class"; imported on first use so importing shopmind stays cheap.
_MODELS: dict[str, str] = {
    "pop": "shopmind.models.popularity:Popularity",
    "itemknn": "shopmind.models.itemknn:ItemKNN",
    "userknn": "shopmind.models.userknn:UserKNN",
    "ease": "shopmind.models.ease:EASE",
    "graph": "shopmind.models.graph:GraphFilter",
    "als": "shopmind.models.als:ALS",
    "content": "shopmind.models.content:ContentRecommender",
    "sasrec": "shopmind.models.sasrec:SASRec",
}


def model_names() -> list[str]:
    return list(_MODELS)


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name``."""
    try:
        module, klass = _MODELS[name].split(":")
    except KeyError:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(_MODELS)}") from None
    found: type[Recommender] = getattr(import_module(module), klass)
    return found


def make_model(name: str, **params: Any) -> Recommender:
    """A fresh, unfitted model from its name and hyper-parameters."""
    return model_class(name)(**params)
