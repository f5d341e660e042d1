"""What every recommender must do: a mixin each model's test class inherits (LensKit style).

A concrete class sets ``model_name`` and ``params`` (plus the accuracy attributes) and gets
the whole protocol checked on the planted shop of ``conftest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import ValidationError

from shopmind.data import Dataset, EvalSet, Histories, Split
from shopmind.models import Recommender, make_model, recommend
from shopmind.models.base import NotFittedError
from shopmind.text.embed import embed_texts


def hit_rate(
    model: Recommender, rows: EvalSet, k: int = 10, *, exclude_history: bool = True
) -> float:
    """Share of rows with a target in the top ``k``."""
    ids, _ = recommend(model, rows.histories, k, exclude_history=exclude_history)
    targets = rows.targets.toarray() > 0
    hits = np.take_along_axis(targets, np.maximum(ids, 0), axis=1) & (ids >= 0)
    return float(hits.any(axis=1).mean())


def _tmpdir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="shopmind-capabilities-")


def purchase_histories(data: Dataset, rows: list[list[int]]) -> Histories:
    """History rows of purchases of the given items, weighted like the Dataset's purchases."""
    code = data.type_names.index("purchase")
    weight = float(data.event_weights.get("purchase", 1.0))
    return Histories.from_lists(
        rows,
        types=[[code] * len(row) for row in rows],
        weights=[[weight] * len(row) for row in rows],
    )


class RecommenderConformance:
    """Shared checks of the model protocol; subclasses set the attributes below."""

    #: Registry name of the model under test.
    model_name: ClassVar[str]
    #: Hyper-parameters for the tests (small and fast).
    params: ClassVar[dict[str, Any]] = {}
    #: Whether different histories get different scores (not so for popularity).
    personalised: ClassVar[bool] = True
    #: Hit-rate@10 on the planted shop must beat popularity's by this much (None: skip).
    accuracy_margin: ClassVar[float | None] = 0.1
    #: Whether a lone purchase of planted item a must put b in the top ``pair_k``.
    finds_planted_pair: ClassVar[bool] = False
    pair_k: ClassVar[int] = 5
    #: Whether the synthetic-shop check applies (margin over popularity; None: skip).
    synthetic_margin: ClassVar[float | None] = 0.02
    #: Share of planted complementary pairs of the synthetic shop found in the top 10.
    synthetic_pair_floor: ClassVar[float | None] = None

    def make(self, **override: Any) -> Recommender:
        return make_model(self.model_name, **{**self.params, **override})

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, split: Split) -> Recommender:
        return cls.make(cls()).fit(split.train)

    @pytest.fixture(scope="class")
    @classmethod
    def histories(cls, split: Split) -> Histories:
        return split.test.histories.take(np.arange(40))

    # --- fitting and scoring ---------------------------------------------------------------

    def test_fit_returns_self(self, split: Split) -> None:
        model = self.make()
        assert not model.is_fitted()
        assert model.fit(split.train) is model
        assert model.is_fitted()
        assert model.name == self.model_name
        assert model.n_items == split.train.n_items

    def test_score_before_fit_raises(self, histories: Histories) -> None:
        with pytest.raises(NotFittedError):
            self.make().score(histories)

    def test_score_shape_and_dtype(self, fitted: Recommender, histories: Histories) -> None:
        scores = fitted.score(histories)
        assert scores.shape == (len(histories), fitted.n_items)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()
        # Scores depend on the history: different shoppers get different scores.
        assert np.allclose(scores[0], scores[1]) != self.personalised

    def test_score_given_items(self, fitted: Recommender, histories: Histories) -> None:
        items = np.array([3, 0, -1, fitted.n_items, fitted.n_items - 1])
        full = fitted.score(histories)
        some = fitted.score(histories, items)
        assert some.shape == (len(histories), len(items))
        # A model may score a few items by another kernel than all of them: equal to rounding.
        np.testing.assert_allclose(
            some[:, [0, 1, 4]], full[:, [3, 0, fitted.n_items - 1]], rtol=1e-5, atol=1e-6
        )
        assert np.isnan(some[:, [2, 3]]).all()

    def test_candidates_hold_the_best_allowed_items(
        self, fitted: Recommender, histories: Histories
    ) -> None:
        allowed = np.ones(fitted.n_items, dtype=bool)
        allowed[::2] = False
        found = fitted.candidates(histories, 10, allowed)
        if found is None:
            pytest.skip("no candidate shortcut: a caller ranks this model's full scores")
        assert found.shape[0] == len(histories) and allowed[found[found >= 0]].all()
        scores = np.where(allowed, fitted.score(histories), -np.inf)
        for r in range(len(histories)):
            tenth = np.sort(scores[r])[-10]
            # Whatever beats the 10th best allowed item is proposed (a tie may go either way).
            assert set(np.flatnonzero(scores[r] > max(tenth, 0.0))) <= set(found[r].tolist())

    def test_batch_equals_one_by_one(self, fitted: Recommender, histories: Histories) -> None:
        batch = fitted.score(histories)
        for r in range(0, len(histories), 7):
            single = fitted.score(histories.take([r]))[0]
            np.testing.assert_allclose(single, batch[r], rtol=1e-5, atol=1e-6)

    def test_empty_history(self, fitted: Recommender) -> None:
        scores = fitted.score(Histories.empty(3))
        assert scores.shape == (3, fitted.n_items)
        assert np.isfinite(scores).all()
        np.testing.assert_array_equal(scores[0], scores[2])

    def test_unknown_history_items_ignored(self, fitted: Recommender) -> None:
        n = fitted.n_items
        noisy = Histories.from_lists([[4, -1, 7, n + 3], [-1], [-1, 2]])
        clean = Histories.from_lists([[4, 7], [], [2]])
        np.testing.assert_array_equal(fitted.score(noisy), fitted.score(clean))
        # The candidate shortcut too: a live item posted after training is in a served
        # shopper's history, past the model's catalogue (a fuzzer found the 500 this was).
        found = fitted.candidates(noisy, 10)
        if found is not None:
            np.testing.assert_array_equal(found, fitted.candidates(clean, 10))

    def test_refit_is_identical(self, fitted: Recommender, split: Split) -> None:
        again = self.make().fit(split.train)
        histories = split.test.histories
        np.testing.assert_array_equal(again.score(histories), fitted.score(histories))

    def test_recommend_excludes_history(self, fitted: Recommender, histories: Histories) -> None:
        ids, scores = recommend(fitted, histories, 10, exclude_history=True)
        assert ids.shape == (len(histories), 10)
        for r in range(len(histories)):
            assert not set(ids[r][ids[r] >= 0].tolist()) & set(histories.row(r).tolist())
            assert (np.diff(scores[r]) <= 0).all()

    # --- persistence and configuration ----------------------------------------------------

    def test_save_load_round_trip(self, fitted: Recommender, split: Split, tmp_path: Path) -> None:
        folder = fitted.save(tmp_path / "model")
        loaded = Recommender.load(folder)
        assert type(loaded) is type(fitted)
        assert loaded.config == fitted.config
        assert loaded.n_items == fitted.n_items
        histories = split.test.histories
        np.testing.assert_array_equal(loaded.score(histories), fitted.score(histories))
        assert sorted(p.name for p in folder.iterdir()) == ["model.json", "state.npz"]

    def test_capabilities_hold(self, fitted: Recommender, histories: Histories) -> None:
        """What the model declares it can do beyond scoring, it does; what it does not
        declare, it refuses (the declaration is per config, so each test class's params)."""
        caps = fitted.capabilities
        vectors, similarity = fitted.text_vectors(), fitted.item_similarity()
        assert (vectors is not None) == caps.text_vectors
        if vectors is not None:
            assert vectors.shape[0] == fitted.n_items
        assert (similarity is not None) == caps.item_similarity
        if similarity is not None:
            assert similarity.shape == (fitted.n_items, fitted.n_items)
        rows = histories.take(np.arange(min(12, len(histories))))
        if caps.audiences:  # one item for every shopper: column i of score(), in reverse
            state = fitted.audience_state(rows)
            full = fitted.score(rows)
            for item in (0, fitted.n_items // 2, fitted.n_items - 1):
                got = fitted.audience_scores(state, item)
                assert got.shape == (len(rows),) and got.dtype == np.float32
                if fitted.config.seen == "keep":
                    np.testing.assert_allclose(got, full[:, item], rtol=1e-5, atol=1e-6)
        else:
            with pytest.raises(NotImplementedError):
                fitted.audience_state(rows)
        if not caps.takes_new_items:
            with pytest.raises((NotImplementedError, ValueError)):
                fitted.add_item_vectors(np.zeros((1, 384), np.float32))
            return
        assert fitted.encoder is not None
        before = fitted.n_items
        copy = Recommender.load(fitted.save(Path(_tmpdir()) / "m"))  # the fixture stays as is
        # As the engine does for items posted after training: their text, by the model's encoder.
        new = embed_texts(
            ["Brass desk lamp. Lighting.", "Oak chair. Furniture."], settings=fitted.encoder
        )
        added = copy.add_item_vectors(new)
        assert list(added) == [before, before + 1]
        scores = copy.score(histories.take(np.arange(3)))
        assert scores.shape == (3, before + 2)
        assert np.isfinite(scores[:, before:]).all()

    def test_config_round_trips_json(self) -> None:
        config = self.make().config
        text = config.model_dump_json()
        assert type(config).model_validate_json(text) == config
        assert make_model(self.model_name, **json.loads(text)).config == config

    def test_config_rejects_unknown_field(self) -> None:
        with pytest.raises(ValidationError):
            self.make(no_such_parameter=1)

    # --- planted structure ----------------------------------------------------------------

    def test_beats_popularity(self, fitted: Recommender, split: Split) -> None:
        if self.accuracy_margin is None:
            pytest.skip("no accuracy floor for this model")
        popularity = make_model("pop").fit(split.train)
        ours, baseline = hit_rate(fitted, split.test), hit_rate(popularity, split.test)
        assert ours >= baseline + self.accuracy_margin, (ours, baseline)

    def test_finds_planted_pair(self, fitted: Recommender, split: Split, shop: Any) -> None:
        if not self.finds_planted_pair:
            pytest.skip("the planted pair is not checked for this model")
        data = split.train
        a, b = (data.items.index(x) for x in shop.pair)
        rows = purchase_histories(data, [[a]])
        ids, _ = recommend(fitted, rows, self.pair_k, exclude_history=True)
        assert b in ids[0], ids[0]

    def test_synthetic_shop(self, synthetic: Any) -> None:
        """Beat popularity on the synthetic shop, and find its planted complements.

        Its purchases follow views and carts of the same item, so history items stay
        candidates here (the question is which of them, or what else, gets bought).
        """
        if self.synthetic_margin is None:
            pytest.skip("no synthetic-shop floor for this model")
        split = synthetic.split
        model = self.make().fit(split.train)
        popularity = make_model("pop").fit(split.train)
        ours = hit_rate(model, split.test, exclude_history=False)
        baseline = hit_rate(popularity, split.test, exclude_history=False)
        assert ours >= baseline + self.synthetic_margin, (ours, baseline)
        if self.synthetic_pair_floor is not None:
            items = split.train.items
            pairs = [(items.index(a), items.index(b)) for a, b in synthetic.complementary_pairs]
            pairs = [(a, b) for a, b in pairs if a >= 0 and b >= 0]
            rows = purchase_histories(split.train, [[a] for a, _ in pairs])
            ids, _ = recommend(model, rows, 10, exclude_history=True)
            found = np.mean([b in ids[r] for r, (_, b) in enumerate(pairs)])
            assert found >= self.synthetic_pair_floor, found
