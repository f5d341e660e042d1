"""Training: the typed TrainConfig, the snapshot of the Store, and fitting the models into a
Bundle (:func:`shopmind.training.train.train`).

Only the config is imported here: the bundle's manifest holds a TrainConfig, and training
writes bundles, so importing the training steps from here would make a circle.
"""

from shopmind.training.config import (
    COMPARED_MODELS,
    METRIC_KS,
    PROTOCOL_KS,
    SERVED_MODELS,
    TrainConfig,
    default_params,
)

__all__ = [
    "COMPARED_MODELS",
    "METRIC_KS",
    "PROTOCOL_KS",
    "SERVED_MODELS",
    "TrainConfig",
    "default_params",
]
