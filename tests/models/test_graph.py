"""The graph model: graph convolution over shoppers and categories as a closed-form filter."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from conformance import RecommenderConformance

from shopmind.data import Dataset
from shopmind.models import make_model


class TestGraphFilter(RecommenderConformance):
    model_name = "graph"
    params: ClassVar[dict[str, Any]] = {"components": 32}
    finds_planted_pair = True
    # A low-pass filter spreads a purchase over its neighbourhood (and, through the category
    # node, its leaf): it beats popularity on the synthetic shop, but is no pair finder.
    synthetic_margin = 0.1


class TestGraphFilterLinearOnly(RecommenderConformance):
    model_name = "graph"
    params: ClassVar[dict[str, Any]] = {"alpha": 0.0, "category_weight": 0.0}
    synthetic_margin = 0.05


def test_the_linear_filter_is_the_normalised_co_interaction(dataset: Dataset) -> None:
    # alpha 0, no category node: W = R̃ᵀR̃ exactly, with R̃ = D_u^-½ R D_i^-½.
    model = make_model("graph", alpha=0.0, category_weight=0.0).fit(dataset)
    r = sp.csr_matrix(dataset.matrix(binary=True), dtype=np.float64).toarray()
    du = r.sum(1)
    di = r.sum(0)
    norm = r / np.sqrt(np.where(du > 0, du, 1))[:, None] / np.sqrt(np.where(di > 0, di, 1))[None]
    np.testing.assert_allclose(model.weights, norm.T @ norm, rtol=1e-5, atol=1e-6)


def test_category_edges_join_items_no_shopper_links(dataset: Dataset) -> None:
    # Two items of one leaf nobody chose together: the category node propagates between them.
    cat = dataset.item_side.category
    r = dataset.matrix(binary=True)
    co = (r.T @ r).toarray()
    same = [
        (a, b)
        for a in range(dataset.n_items)
        for b in range(a + 1, dataset.n_items)
        if cat[a] and cat[a] == cat[b] and co[a, b] == 0 and co[a, a] > 0 and co[b, b] > 0
    ]
    assert same, "the planted shop has unlinked items in a shared leaf"
    without = make_model("graph", alpha=0.0, category_weight=0.0).fit(dataset).weights
    with_ = make_model("graph", alpha=0.0, category_weight=1.0).fit(dataset).weights
    a, b = same[0]
    assert without[a, b] == 0 and with_[a, b] > 0
