"""The sequential recommender: protocol, planted order, request-time history, text, training."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from conformance import RecommenderConformance, hit_rate, purchase_histories

from conftest import SyntheticCase
from shopmind.data import Histories, Split
from shopmind.data.split import EvalSet
from shopmind.models import make_model, recommend
from shopmind.models.base import Holdout, Recommender
from shopmind.models.sasrec import CHECKPOINT, SASRec

#: Small and quick: one thread (the test machine is shared), few epochs at a high rate.
FAST: dict[str, Any] = {
    "dim": 32,
    "dropout": 0.2,
    "lr": 5e-3,
    "epochs": 20,
    "max_len": 20,
    "holdout_share": 0.0,
    "threads": 1,
}
TEXT: dict[str, Any] = {**FAST, "item_repr": "sum", "encoder": {"backend": "torch"}}


class TestSASRec(RecommenderConformance):
    model_name = "sasrec"
    params: ClassVar[dict[str, Any]] = FAST
    # Its shoppers buy a then b back to back: exactly the order a sequence model reads.
    finds_planted_pair = True
    synthetic_margin = 0.05


class TestSASRecText(RecommenderConformance):
    model_name = "sasrec"
    params: ClassVar[dict[str, Any]] = {**TEXT, "item_repr": "gate"}
    finds_planted_pair = True
    synthetic_margin = 0.05


@pytest.fixture(scope="module")
def synthetic_model(synthetic: SyntheticCase) -> SASRec:
    model = make_model("sasrec", **FAST).fit(synthetic.split.train)
    assert isinstance(model, SASRec)
    return model


def test_finds_planted_complements_after_a_purchase(
    synthetic_model: SASRec, synthetic: SyntheticCase
) -> None:
    """After view → cart → purchase of a, its planted complement b is in the top 10."""
    train = synthetic.split.train
    funnel = [train.type_names.index(t) for t in ("view", "add_to_cart", "purchase")]
    pairs = [(train.items.index(a), train.items.index(b)) for a, b in synthetic.complementary_pairs]
    pairs = [(a, b) for a, b in pairs if a >= 0 and b >= 0]
    rows = Histories.from_lists(
        [[a] * 3 for a, _ in pairs],
        types=[funnel] * len(pairs),
        timestamps=[[0, 60_000, 120_000]] * len(pairs),
    )
    ids, _ = recommend(synthetic_model, rows, 10, exclude_history=True)
    found = np.mean([b in ids[r] for r, (_, b) in enumerate(pairs)])
    popular = make_model("pop").fit(train)
    ids, _ = recommend(popular, rows, 10, exclude_history=True)
    by_popularity = np.mean([b in ids[r] for r, (_, b) in enumerate(pairs)])
    # Each pair is one of ~400 items; popularity finds ~4% of them.
    assert found >= 0.1 and found >= 2 * by_popularity, (found, by_popularity)


def test_next_click_changes_the_answer(split: Split, shop: Any) -> None:
    """Scores come from the history at request time: one more event moves the ranking."""
    model = make_model("sasrec", **FAST).fit(split.train)
    data = split.train
    a, b = (data.items.index(x) for x in shop.pair)
    base = split.test.histories.take([0])
    history = base.row(0).tolist()
    before = model.score(purchase_histories(data, [history]))[0]
    after = model.score(purchase_histories(data, [[*history, a]]))[0]
    assert not np.allclose(before, after)
    # ... and in the planted direction: after a, its complement b jumps up the ranking.
    rank_before = int((before > before[b]).sum())
    rank_after = int((after > after[b]).sum())
    assert rank_after < rank_before and rank_after < 5, (rank_before, rank_after)


def test_learns_the_planted_order(split: Split, shop: Any) -> None:
    """a is followed by b, never the other way round: b ranks higher after a than a after b."""
    model = make_model("sasrec", **FAST).fit(split.train)
    data = split.train
    a, b = (data.items.index(x) for x in shop.pair)
    scores = model.score(purchase_histories(data, [[a], [b]]))
    rank_b_after_a = int((scores[0] > scores[0, b]).sum())
    rank_a_after_b = int((scores[1] > scores[1, a]).sum())
    assert rank_b_after_a < rank_a_after_b, (rank_b_after_a, rank_a_after_b)


def test_event_types_and_time_gaps_are_read(synthetic: SyntheticCase) -> None:
    """Same items, other event types or gaps: other scores; switched off: the same scores."""
    train = synthetic.split.train
    items = [[3, 5, 9]]
    view, purchase = train.type_names.index("view"), train.type_names.index("purchase")
    as_views = Histories.from_lists(items, types=[[view] * 3], timestamps=[[0, 1_000, 2_000]])
    as_buys = Histories.from_lists(items, types=[[purchase] * 3], timestamps=[[0, 1_000, 2_000]])
    later = Histories.from_lists(items, types=[[view] * 3], timestamps=[[0, 1_000, 9_000_000]])
    on = make_model("sasrec", **{**FAST, "epochs": 3}).fit(train)
    off = make_model(
        "sasrec", **{**FAST, "epochs": 3, "event_types": False, "time_gaps": False}
    ).fit(train)
    assert not np.allclose(on.score(as_views), on.score(as_buys))
    assert not np.allclose(on.score(as_views), on.score(later))
    np.testing.assert_array_equal(off.score(as_views), off.score(as_buys))
    np.testing.assert_array_equal(off.score(as_views), off.score(later))


@pytest.mark.parametrize("loss", ["bce", "sampled"])
def test_other_losses_learn(synthetic: SyntheticCase, loss: str) -> None:
    split = synthetic.split
    model = make_model("sasrec", **{**FAST, "loss": loss, "negatives": 64}).fit(split.train)
    popularity = make_model("pop").fit(split.train)
    ours = hit_rate(model, split.test, exclude_history=False)
    assert ours >= hit_rate(popularity, split.test, exclude_history=False) + 0.05


def test_holdout_stops_early_and_keeps_the_best_epoch(split: Split) -> None:
    # The small planted shop, no dropout and a high rate: validation peaks early.
    model = make_model("sasrec", **{**FAST, "epochs": 60, "patience": 3, "dropout": 0.0})
    model.fit(split.train, Holdout(split.valid, mask_history=False))
    assert isinstance(model, SASRec) and model.report is not None
    report = model.report
    assert len(report.epochs) < 60  # stopped early
    assert len(report.epochs) == report.best_epoch + 3
    watched = [row["ndcg@10"] for row in report.epochs]
    assert report.best_ndcg == max(watched) == watched[report.best_epoch - 1]
    # The weights kept are those of the best epoch: validation NDCG@10 says so.
    from shopmind.evaluation import evaluate

    measured = evaluate(model, split.valid, ks=(10,)).metrics["ndcg@10"]
    assert measured == pytest.approx(report.best_ndcg, abs=0.01)


def test_checkpoint_is_safetensors_of_the_best_epoch(
    synthetic: SyntheticCase, tmp_path: Path
) -> None:
    split = synthetic.split
    folder = tmp_path / "ckpt"
    model = make_model("sasrec", **{**FAST, "epochs": 8, "checkpoint": str(folder)})
    model.fit(split.train)
    assert isinstance(model, SASRec)
    path = folder / CHECKPOINT
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle
    copy = SASRec.load(model.save(tmp_path / "saved"))
    assert isinstance(copy, SASRec)
    rows = split.test.histories.take(np.arange(30))
    copy.network.items.ids.weight.data.zero_()  # spoil it, then restore from the checkpoint
    copy._refresh()  # the item table every request reuses follows the weights
    assert not np.array_equal(copy.score(rows), model.score(rows))
    copy.load_checkpoint(path)
    np.testing.assert_array_equal(copy.score(rows), model.score(rows))


# --- text: items nobody touched, new items --------------------------------------------------


@pytest.fixture(scope="module")
def cold_case(synthetic: SyntheticCase) -> tuple[SASRec, np.ndarray, Split]:
    """The synthetic shop with every interaction of 15% of its items removed from training."""
    split = synthetic.split
    train = split.train
    rng = np.random.default_rng(0)
    cold = np.zeros(train.n_items, dtype=bool)
    cold[rng.choice(train.n_items, int(0.15 * train.n_items), replace=False)] = True
    model = make_model("sasrec", **TEXT).fit(train.subset(~cold[train.item]))
    assert isinstance(model, SASRec)
    return model, np.flatnonzero(cold), split


def test_items_never_seen_are_scored_from_their_text(
    cold_case: tuple[SASRec, np.ndarray, Split],
) -> None:
    """After a purchase in a leaf category, a cold item of that leaf outranks other cold items."""
    model, cold, split = cold_case
    side = split.train.item_side
    leaves = np.array([path[-1] if path else "" for path in side.category], dtype=object)
    warm = np.setdiff1d(np.arange(split.train.n_items), cold)
    percentiles = []
    for item in cold[:40]:
        peers = warm[leaves[warm] == leaves[item]]
        if not len(peers):
            continue
        scores = model.score(purchase_histories(split.train, [[int(peers[0])]]))[0]
        assert np.isfinite(scores[cold]).all()
        percentiles.append(np.mean(scores[cold] < scores[item]))
    # Chance is 0.5; the leaf's few cold items are a small share of all cold items.
    assert len(percentiles) >= 20
    assert np.mean(percentiles) >= 0.8, np.mean(percentiles)


def test_cold_items_are_recommended_where_they_are_the_answer(
    cold_case: tuple[SASRec, np.ndarray, Split],
) -> None:
    """Test rows whose target is a cold item: text-aware beats id-only, which cannot score it."""
    model, cold, split = cold_case
    targets = split.test.targets.tocsr()
    first = targets.indices[targets.indptr[:-1]]
    rows = np.flatnonzero(np.isin(first, cold))
    assert len(rows) >= 10
    slice_ = EvalSet(split.test.users[rows], split.test.histories.take(rows), targets[rows])
    train = split.train
    mask = np.zeros(train.n_items, dtype=bool)
    mask[cold] = True
    ids_only = make_model("sasrec", **FAST).fit(train.subset(~mask[train.item]))
    ours = hit_rate(model, slice_, k=50, exclude_history=False)
    theirs = hit_rate(ids_only, slice_, k=50, exclude_history=False)
    assert ours >= theirs + 0.1, (ours, theirs)


def test_new_item_scores_like_its_text_twin(
    cold_case: tuple[SASRec, np.ndarray, Split], tmp_path: Path
) -> None:
    model, _, split = cold_case
    served = Recommender.load(model.save(tmp_path / "m"))
    assert isinstance(served, SASRec)
    side = split.train.item_side
    twin = 7
    text = f"{side.title[twin]}. {' > '.join(side.category[twin])}. {side.brand[twin]}."
    before = served.n_items
    (new,) = served.add_items([text])
    assert new == before and served.n_items == before + 1
    rows = split.test.histories.take(np.arange(200))
    scores = served.score(rows)
    assert scores.shape == (200, before + 1) and np.isfinite(scores).all()
    # Across shoppers, the new item's score follows its twin's (it has only the twin's text).
    assert np.corrcoef(scores[:, new], scores[:, twin])[0, 1] > 0.7
    # Everything else is as before.
    np.testing.assert_array_equal(scores[:, :before], model.score(rows))


def test_new_item_vectors_must_come_from_the_models_encoder(
    cold_case: tuple[SASRec, np.ndarray, Split],
) -> None:
    model, _, _ = cold_case
    with pytest.raises(ValueError, match="384-d vectors of its own encoder"):
        model.add_item_vectors(np.ones((2, 16), dtype=np.float32))


def test_id_only_model_refuses_new_items(synthetic_model: SASRec) -> None:
    with pytest.raises(ValueError, match="item_repr"):
        synthetic_model.add_items(["a new thing"])


def test_heads_must_divide_dim() -> None:
    with pytest.raises(ValueError, match="multiple of heads"):
        make_model("sasrec", dim=30, heads=4)


def test_a_random_batch_run_in_pieces_has_the_whole_batchs_loss(synthetic_model: SASRec) -> None:
    import torch
    import torch.nn.functional as F

    from shopmind.models.sequential.training import _states_and_targets, training_sequences

    rng = np.random.default_rng(0)
    lists = [
        rng.integers(0, synthetic_model.n_items, rng.integers(2, 40)).tolist() for _ in range(64)
    ]
    inputs, targets = training_sequences(
        Histories.from_lists(lists), synthetic_model.config.max_len
    )
    network = synthetic_model.network.eval()  # no dropout: the two runs must agree exactly
    rows = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        table = network.table()
        whole = _states_and_targets(network, inputs, targets, rows, table, 1)
        pieces = _states_and_targets(network, inputs, targets, rows, table, 8)
        loss = [float(F.cross_entropy(s @ table.T, t)) for s, t in (whole, pieces)]
    assert len(whole[1]) == len(pieces[1]) == int((targets >= 0).sum())
    assert loss[0] == pytest.approx(loss[1], rel=1e-5)


def test_serving_with_the_held_item_table_scores_what_the_network_computes(
    cold_case: tuple[SASRec, np.ndarray, Split],
) -> None:
    # A request reuses the model's item table instead of recomputing it (with text items the
    # bulk of a request's time); the states must be exactly the network's own.
    from shopmind.models.sequential.training import last_states

    model, _, split = cold_case
    histories = split.valid.histories.take(np.arange(min(50, len(split.valid))))
    histories = histories.take(np.flatnonzero(histories.lengths > 0))
    own = last_states(model.network, histories, model.config.max_len)
    held = last_states(model.network, histories, model.config.max_len, table=model._table)
    assert torch.equal(own, held)
