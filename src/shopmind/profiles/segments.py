"""Segments: groups of shoppers found by clustering their profiles, each named from its data.

A shopper is described by the share of their attention on each category of the top level of
the path at which shoppers differ (level 1, or level 2 for a catalogue under one root; at most
``max_categories`` of them) and their price position; k-means groups them, for every k in a range,
and the k with the best silhouette is kept (the criterion and every k's score are recorded).
Each segment is named and described from its members' profiles (their leading categories,
price band, lifecycle mix) and carries its size and KPIs (conversion, average order value,
revenue share). A profile computed later (after new events) is put in the segment whose
centroid is nearest, so a shopper's segment is current without a retrain; the member lists
are the training snapshot's.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopmind.data.dataset import Dataset
from shopmind.profiles.items import ProfileItems
from shopmind.profiles.profile import Profile, ProfileConfig, build_profiles, shop_time
from shopmind.profiles.rules import ShopperFacts

#: The file of a bundle's segments folder with the model, and the one with the members.
MODEL_FILE, MEMBERS_FILE = "segments.json", "members.json"


class SegmentConfig(BaseModel):
    """How segments are found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The range of k tried; the best silhouette wins.
    k_min: int = Field(2, ge=2)
    k_max: int = Field(10, ge=2)
    #: Categories (of the level read) that make the features, the most held first.
    max_categories: int = Field(30, ge=1, le=1000)
    #: Weight of the price position (0-1) against the category shares (which sum to 1).
    price_weight: float = Field(0.5, ge=0)
    #: Shoppers with fewer item events than this are left out of the clustering (they are
    #: still assigned to the nearest segment).
    min_events: int = Field(3, ge=1)
    #: Shoppers the silhouette is computed on (a sample: it is quadratic).
    silhouette_sample: int = Field(3000, ge=100)
    seed: int = 0


class SegmentKPIs(BaseModel):
    #: Purchases per view or click.
    conversion: float | None
    #: Summed prices of purchases per purchase.
    average_order_value: float | None
    #: The segment's share of the revenue of all segmented shoppers.
    revenue_share: float
    purchases: int


class Segment(BaseModel):
    id: str
    kind: str = "cluster"
    name: str
    description: str
    size: int
    #: Its share of the segmented shoppers.
    share: float
    #: Leading categories (of the level read) and the mean share of attention on each.
    categories: dict[str, float]
    price_percentile: float | None
    price_band: str | None
    lifecycle: dict[str, float]
    kpis: SegmentKPIs


class SegmentModel(BaseModel):
    """The segments of a bundle: their centroids over the feature layout, and the choice."""

    #: The level of the category path the segments read (the top one that tells shoppers
    #: apart), and its categories (paths) that make the features.
    level: int = 1
    categories: list[str]
    price_weight: float
    centroids: list[list[float]]
    segments: list[Segment]
    #: "silhouette": k -> the mean silhouette of the clustering with k segments.
    criterion: str = "silhouette"
    scores: dict[int, float]
    chosen_k: int
    #: A sample of shoppers on the features' first two principal axes, with their segment
    #: (index into ``segments``), for a map; no ids.
    map_points: list[tuple[float, float, int]] = []

    def features(self, profiles: Sequence[Profile]) -> np.ndarray:
        return features(profiles, self.categories, self.price_weight, self.level)

    def assign(self, profile: Profile) -> Segment | None:
        """The segment whose centroid is nearest the profile (None without any events)."""
        if not profile.activity.events or not self.segments:
            return None
        x = self.features([profile])[0]
        c = np.asarray(self.centroids, np.float64)
        return self.segments[int(np.argmin(((c - x) ** 2).sum(axis=1)))]

    def get(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def save(
        self, folder: Path, members: Mapping[str, list[str]], facts: ShopperFacts | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if facts is not None:
            facts.save(folder)
        (folder / MODEL_FILE).write_text(self.model_dump_json(indent=1) + "\n")
        (folder / MEMBERS_FILE).write_text(json.dumps(dict(members)) + "\n")

    @classmethod
    def load(cls, folder: Path) -> tuple[SegmentModel, dict[str, list[str]]]:
        model = cls.model_validate_json((folder / MODEL_FILE).read_text())
        members = json.loads((folder / MEMBERS_FILE).read_text())
        return model, {str(k): [str(u) for u in v] for k, v in members.items()}


def features(
    profiles: Sequence[Profile], categories: Sequence[str], price_weight: float, level: int = 1
) -> np.ndarray:
    """Per profile: its share of attention on each of ``categories`` (paths at ``level``),
    then its price position (0-1, 0.5 when unknown) times ``price_weight``."""
    column = {key: j for j, key in enumerate(categories)}
    out = np.zeros((len(profiles), len(categories) + 1))
    for r, profile in enumerate(profiles):
        for at in profile.categories:
            if at.level == level:
                for a in at.affinities:
                    if a.key in column:
                        out[r, column[a.key]] = a.share
        pct = profile.price.percentile
        out[r, -1] = price_weight * (0.5 if pct is None else pct / 100.0)
    return out


def find_segments(
    profiles: Mapping[str, Profile], config: SegmentConfig | None = None
) -> tuple[SegmentModel, dict[str, list[str]]]:
    """Cluster the profiles into segments (k by silhouette); the model and each segment's
    members (user ids, every profiled shopper with events, nearest centroid)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    cfg = config or SegmentConfig()
    users = sorted(profiles)
    level, categories = _level(profiles, cfg.max_categories)
    everyone = [profiles[u] for u in users]
    x_all = features(everyone, categories, cfg.price_weight, level)
    counted = np.array(
        [sum(p.activity.events.values()) - p.activity.events.get("search", 0) for p in everyone]
    )
    fit_rows = np.flatnonzero(counted >= cfg.min_events)
    x = x_all[fit_rows]
    scores: dict[int, float] = {}
    fits = {}
    distinct = len(np.unique(np.round(x, 6), axis=0)) if len(x) else 0
    top = min(cfg.k_max, len(x) - 1, distinct)  # no more clusters than distinct shoppers
    rng = np.random.default_rng(cfg.seed)
    sample: np.ndarray = (
        rng.choice(len(x), min(cfg.silhouette_sample, len(x)), replace=False)
        if len(x)
        else np.zeros(0, np.int64)
    )
    for k in range(cfg.k_min, top + 1):
        km = KMeans(n_clusters=k, n_init=5, random_state=cfg.seed).fit(x)
        labels = km.labels_[sample]
        if len(set(labels.tolist())) < 2:
            continue
        scores[k] = round(float(silhouette_score(x[sample], labels)), 4)
        fits[k] = km
    if not scores:  # too few shoppers to compare clusterings: one segment
        centroids = x.mean(axis=0, keepdims=True) if len(x) else np.zeros((1, x_all.shape[1]))
        chosen = 1
    else:
        chosen = max(scores, key=lambda k: (scores[k], -k))
        centroids = fits[chosen].cluster_centers_
    assign = np.argmin(((x_all[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    # Biggest segment first, and ids by that order ("s1" is the largest).
    order = np.argsort(-np.bincount(assign, minlength=len(centroids)), kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    assign = rank[assign]
    centroids = centroids[order]
    revenue_total = sum(p.activity.monetary or 0.0 for p in everyone) or 1.0
    segments, members = [], {}
    for s in range(len(centroids)):
        rows = np.flatnonzero(assign == s)
        group = [everyone[r] for r in rows]
        sid = f"s{s + 1}"
        members[sid] = [users[r] for r in rows]
        segments.append(_describe(sid, group, x_all[rows], categories, len(users), revenue_total))
    model = SegmentModel(
        level=level,
        map_points=_map(x_all, assign, cfg.seed),
        categories=categories,
        price_weight=cfg.price_weight,
        centroids=np.round(centroids, 6).tolist(),
        segments=segments,
        scores=scores,
        chosen_k=chosen,
    )
    return model, members


MAP_POINTS = 1500


def _level(profiles: Mapping[str, Profile], most: int) -> tuple[int, list[str]]:
    """The top level of the category path at which shoppers differ (two categories or more
    among their affinities; a catalogue under one root goes a level down), and its ``most``
    categories held by the most shoppers."""
    by_level: dict[int, Counter[str]] = {}
    for profile in profiles.values():
        for at in profile.categories:
            by_level.setdefault(at.level, Counter()).update(a.key for a in at.affinities)
    for level in sorted(by_level):
        if len(by_level[level]) >= 2:
            kept = [k for k, _ in by_level[level].most_common(most)]
            return level, sorted(kept)
    return 1, sorted(by_level.get(1, Counter()))


def _map(x: np.ndarray, assign: np.ndarray, seed: int) -> list[tuple[float, float, int]]:
    """Up to MAP_POINTS shoppers on the first two principal axes of their features."""
    if len(x) < 2:
        return []
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x), min(MAP_POINTS, len(x)), replace=False))
    centred = x - x.mean(axis=0)
    _, _, axes = np.linalg.svd(centred[rows], full_matrices=False)
    xy = centred[rows] @ axes[:2].T if len(axes) >= 2 else np.c_[centred[rows] @ axes[0], 0 * rows]
    return [
        (round(float(a), 4), round(float(b), 4), int(c))
        for (a, b), c in zip(xy.tolist(), assign[rows].tolist(), strict=True)
    ]


def _describe(
    sid: str,
    group: Sequence[Profile],
    x: np.ndarray,
    categories: Sequence[str],
    total: int,
    revenue_total: float,
) -> Segment:
    size = len(group)
    mean = x[:, : len(categories)].mean(axis=0) if size else np.zeros(len(categories))
    order = np.argsort(-mean, kind="stable")

    def short(key: str) -> str:
        return key.rsplit(" > ", 1)[-1]

    leading = {short(categories[j]): round(float(mean[j]), 4) for j in order[:3] if mean[j] > 0}
    names = [short(categories[j]) for j in order[:2] if mean[j] > 0]
    if len(names) == 2 and mean[order[1]] < 0.4 * mean[order[0]]:
        names = names[:1]
    pcts = [p.price.percentile for p in group if p.price.percentile is not None]
    pct = round(float(np.mean(pcts)), 2) if pcts else None
    band = (
        None
        if pct is None
        else "budget"
        if pct < 100 / 3
        else "premium"
        if pct > 200 / 3
        else "mid"
    )
    stages = Counter(p.activity.lifecycle for p in group)
    lifecycle = {k: round(v / size, 4) for k, v in stages.most_common()} if size else {}
    purchases = sum(p.activity.purchases for p in group)
    looks = sum(p.activity.events.get("view", 0) + p.activity.events.get("click", 0) for p in group)
    revenue = sum(p.activity.monetary or 0.0 for p in group)
    kpis = SegmentKPIs(
        conversion=round(purchases / looks, 4) if looks else None,
        average_order_value=round(revenue / purchases, 2) if purchases else None,
        revenue_share=round(revenue / revenue_total, 4),
        purchases=purchases,
    )
    title = " + ".join(names) or "No category"
    name = f"{title} · {band} price" if band else title
    attention = ", ".join(f"{round(100 * v)}% on {k}" for k, v in leading.items())
    price = (
        f"they engage at the {_ordinal(round(pct))} price percentile of their categories ({band})"
        if pct is not None
        else "no prices"
    )
    stage = ", ".join(
        f"{round(100 * v)}% {k.replace('_', ' ')}" for k, v in list(lifecycle.items())[:3]
    )
    conv = f"conversion {100 * kpis.conversion:.1f}%" if kpis.conversion is not None else "no views"
    aov = f", average order {kpis.average_order_value:.2f}" if kpis.average_order_value else ""
    description = (
        f"{size} shoppers ({100 * size / max(total, 1):.0f}%): attention {attention or 'none'}; "
        f"{price}; {stage}; {conv}{aov}; {100 * kpis.revenue_share:.0f}% of revenue."
    )
    return Segment(
        id=sid,
        name=name,
        description=description,
        size=size,
        share=round(size / max(total, 1), 4),
        categories=leading,
        price_percentile=pct,
        price_band=band,
        lifecycle=lifecycle,
        kpis=kpis,
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def snapshot_segments(
    data: Dataset, profile_config: ProfileConfig, config: SegmentConfig, now_ms: float
) -> tuple[SegmentModel, dict[str, list[str]], ShopperFacts]:
    """Every shopper's profile from a training snapshot (its item events and searches), at
    the time served profiles are measured at; the segments found among them; and the facts
    rule segments are evaluated on."""
    n = len(data.search_user)
    ids = np.asarray(data.users.ids(), dtype=object)
    user = np.concatenate([ids[data.user], ids[data.search_user]])
    item = np.concatenate([data.item, np.full(n, -1, np.int64)])
    names = np.array(data.type_names, dtype=object)
    kind = np.concatenate([names[data.type], np.full(n, "search", dtype=object)])
    value = np.concatenate([data.value.astype(np.float64), np.full(n, np.nan)])
    timestamp = np.concatenate([data.timestamp, data.search_timestamp])
    newest = float(timestamp.max()) if len(timestamp) else now_ms
    as_of = shop_time(newest, None, now_ms)
    items = ProfileItems.build(data.item_side)
    profiles = build_profiles(
        user, item, kind, value, timestamp, items, as_of_ms=as_of, config=profile_config
    )
    model, members = find_segments(profiles, config)
    segment_of = {u: sid for sid, users in members.items() for u in users}
    bought = np.flatnonzero((kind == "purchase") & (item >= 0))
    purchases = [
        (str(user[e]), items.category[int(item[e])], int(timestamp[e])) for e in bought.tolist()
    ]
    facts = ShopperFacts.build(profiles, segment_of, purchases, as_of)
    return model, members, facts
