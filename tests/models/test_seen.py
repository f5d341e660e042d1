"""The shared ``seen`` option: history items demoted to the bottom, never removed."""

import numpy as np

from shopmind.data import Dataset
from shopmind.models.base import recommend
from shopmind.models.registry import make_model


def test_demote_puts_history_items_last_but_keeps_them_ranked(dataset: Dataset) -> None:
    keep = make_model("itemknn").fit(dataset)
    demote = make_model("itemknn", seen="demote").fit(dataset)
    hist = dataset.histories([0, 1, 2])
    for row in range(3):
        seen = np.unique(hist.row(row))
        ids, _ = recommend(demote, hist.take([row]), dataset.n_items)
        ranked = ids[0][ids[0] >= 0]
        assert len(ranked) == dataset.n_items  # every item is still ranked
        assert set(ranked[-len(seen) :].tolist()) == set(seen.tolist())
        # unseen items keep the order the model gives them
        unseen_keep = [
            i for i in recommend(keep, hist.take([row]), dataset.n_items)[0][0] if i not in seen
        ]
        assert ranked[: len(unseen_keep)].tolist() == unseen_keep
