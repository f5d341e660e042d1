"""The training snapshot of a Store and the splits evaluation cuts from it."""

from shopmind.data.dataset import Dataset, ItemSide
from shopmind.data.histories import DEFAULT_EVENT_WEIGHTS, Histories
from shopmind.data.idmap import IdMap
from shopmind.data.split import EvalSet, Split, as_given, leave_last_out, temporal

__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "Dataset",
    "EvalSet",
    "Histories",
    "IdMap",
    "ItemSide",
    "Split",
    "as_given",
    "leave_last_out",
    "temporal",
]
