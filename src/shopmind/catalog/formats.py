"""Readers for the public benchmark formats, recognised from a folder's files.

- ``unisrec``: RecBole atomic split files (``*.train.inter``/``.valid.inter``/``.test.inter``,
  ``*.text``, ``*.item2index``, ``*.user2index``); the given split is kept.
- ``lcrec``: ``*.item.json`` + ``*.inter.json`` (items with title/description/brand/categories,
  each user's items in time order); split leave-last-out.
- ``s3rec``: ``<Name>.txt`` (``user item item ...``) + ``<Name>_item2attributes.json``;
  split leave-last-out.

None of these formats has timestamps. Events get order-preserving synthetic ones: a shopper's
j-th interaction happens j seconds after 2018-01-01 UTC, and item k of the file's item order is
"created" k milliseconds after it, so the Dataset keeps the file's item order (ties in
rankings go to the lower file index, as in the published protocols).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from shopmind.catalog.schema import Event, Item, User, from_millis

EPOCH_MS = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class BenchmarkData:
    """A benchmark read into the shop's shapes: catalogue objects and columnar events."""

    name: str
    format: str
    items: list[Item]
    users: list[User]
    events: dict[str, np.ndarray]

    def iter_events(self) -> Iterator[Event]:
        e = self.events
        for i in range(len(e["id"])):
            yield Event(
                id=str(e["id"][i]),
                user_id=str(e["user_id"][i]),
                item_id=str(e["item_id"][i]),
                type=str(e["type"][i]),
                timestamp=from_millis(int(e["timestamp_ms"][i])),
                context={"split": str(e["split"][i])},
            )


class FormatError(ValueError):
    """A benchmark folder that is not in a format shopmind reads."""


def detect_format(folder: Path) -> str:
    """The format of a benchmark folder, from the files in it."""
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if any(n.endswith(".train.inter") for n in names):
        return "unisrec"
    if any(n.endswith(".inter.json") for n in names):
        return "lcrec"
    if any(n.endswith("_item2attributes.json") for n in names):
        return "s3rec"
    raise FormatError(
        f"{folder}: not a benchmark folder shopmind knows. Expected RecBole/UniSRec split files "
        "(*.train.inter, *.valid.inter, *.test.inter), LC-Rec JSON (*.item.json + *.inter.json) "
        "or S3-Rec files (Name.txt + Name_item2attributes.json)"
    )


def read_benchmark(path: str | Path) -> BenchmarkData:
    """Read any supported benchmark folder."""
    folder = Path(path)
    if not folder.is_dir():
        raise FormatError(f"{folder}: no such folder (give the folder that holds the files)")
    kind = detect_format(folder)
    reader = {"unisrec": read_unisrec, "lcrec": read_lcrec, "s3rec": read_s3rec}[kind]
    return reader(folder)


def _one(folder: Path, suffix: str) -> Path:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) != 1:
        raise FormatError(f"{folder}: expected exactly one *{suffix} file, found {len(found)}")
    return found[0]


def _items_in_order(ids: Sequence[str], **fields: Sequence[object]) -> list[Item]:
    items = []
    for k, item_id in enumerate(ids):
        values = {name: column[k] for name, column in fields.items()}
        items.append(Item(id=item_id, created_at=from_millis(EPOCH_MS + k), **values))  # type: ignore[arg-type]
    return items


def _events(
    name: str, sequences: Sequence[Sequence[str]], user_ids: Sequence[str]
) -> dict[str, np.ndarray]:
    """Columnar events; a sequence's last item is tagged test, the one before it valid."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    position = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0)
    users = np.repeat(np.asarray(user_ids, dtype=object), lengths)
    from_end = np.repeat(lengths, lengths) - 1 - position
    split = np.where(from_end == 0, "test", np.where(from_end == 1, "valid", "train"))
    split = np.where(np.repeat(lengths, lengths) >= 3, split, "train").astype(object)
    n = int(lengths.sum())
    return {
        "id": np.array([f"{name}:{u}:{p}" for u, p in zip(users, position, strict=True)], object),
        "user_id": users,
        "item_id": np.asarray([i for s in sequences for i in s], dtype=object),
        "type": np.full(n, "purchase", dtype=object),
        "value": np.full(n, np.nan),
        "query": np.full(n, None, dtype=object),
        "timestamp_ms": EPOCH_MS + position.astype(np.int64) * 1000,
        "split": split,
    }


def _read_inter(path: Path) -> list[tuple[str, list[str], str]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if len(header) != 3 or not header[0].startswith("user_id"):
            raise FormatError(f"{path}:1: expected the header user_id, item_id_list, item_id")
        for line_no, line in enumerate(fh, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise FormatError(f"{path}:{line_no}: expected 3 tab-separated fields")
            rows.append((parts[0], parts[1].split(), parts[2]))
    return rows


def read_unisrec(folder: Path) -> BenchmarkData:
    """RecBole atomic files: rebuild each user's full sequence and keep the given split."""
    name = _one(folder, ".train.inter").name.removesuffix(".train.inter")
    item_ids = [line.split("\t")[0] for line in _lines(folder / f"{name}.item2index")]
    user_ids = [line.split("\t")[0] for line in _lines(folder / f"{name}.user2index")]
    texts = dict(line.split("\t", 1) for line in _lines(folder / f"{name}.text", skip_header=True))
    sequences: dict[int, list[int]] = {}
    # The train file lists each user's prefixes newest first; walk them oldest first and check
    # that every row's history is the tail of the sequence rebuilt so far.
    train = _read_inter(folder / f"{name}.train.inter")
    order = sorted(range(len(train)), key=lambda r: (int(train[r][0]), -r))
    rows = [train[r] for r in order]
    for part in ("valid", "test"):
        rows += _read_inter(folder / f"{name}.{part}.inter")
    for user, history, target in rows:
        hist = [int(i) for i in history]
        seq = sequences.setdefault(int(user), hist)
        if seq[-len(hist) :] != hist:
            raise FormatError(f"{name}: user {user}'s rows do not chain into one sequence")
        seq.append(int(target))
    users = sorted(sequences)
    titles = [texts.get(asin, "").strip() for asin in item_ids]
    fields = _join_rich(folder / "rich" / f"{name}.item.json", titles)
    return BenchmarkData(
        name=name,
        format="unisrec",
        items=_items_in_order(item_ids, **fields),
        users=[User(id=user_ids[u]) for u in users],
        events=_events(
            name, [[item_ids[i] for i in sequences[u]] for u in users], [user_ids[u] for u in users]
        ),
    )


def _join_rich(rich_file: Path, texts: Sequence[str]) -> dict[str, Sequence[object]]:
    """Item fields for UniSRec texts, with a ``rich/`` LC-Rec catalogue joined on by title.

    A UniSRec text is "title. category path. brand."; where it starts with the title of an
    item of the rich catalogue, that item's title, description, brand and category path are
    used. Items without a match keep their whole text as the title.
    """
    if not rich_file.exists():
        return {"title": list(texts)}
    raw: dict[str, dict[str, str]] = json.loads(rich_file.read_text(encoding="utf-8"))
    by_title: dict[str, dict[str, str]] = {}
    for key in sorted(raw, key=int):
        by_title.setdefault(str(raw[key].get("title", "")).strip(), raw[key])
    fields: dict[str, list[object]] = {"title": [], "description": [], "brand": []}
    fields["category_path"] = []
    for text in texts:
        record = next(
            (
                by_title[text[: i + 1]]
                for i, c in enumerate(text)
                if c == "." and text[: i + 1] in by_title
            ),
            None,
        )
        if record is None:
            fields["title"].append(text)
            fields["description"].append("")
            fields["brand"].append("")
            fields["category_path"].append(())
            continue
        for field_name, value in _rich_fields(record).items():
            fields[field_name].append(value)
    return dict(fields)


def _rich_fields(record: dict[str, str]) -> dict[str, object]:
    """Item fields of an LC-Rec item record (categories: a comma-separated path)."""
    path = [p.strip() for p in str(record.get("categories", "")).split(",") if p.strip()]
    return {
        "title": str(record.get("title", "")).strip(),
        "description": str(record.get("description", "")).strip(),
        "brand": str(record.get("brand", "")).strip(),
        "category_path": tuple(path),
    }


def read_lcrec(folder: Path) -> BenchmarkData:
    """LC-Rec JSON: items with rich text, sequences split leave-last-out."""
    item_file = _one(folder, ".item.json")
    name = item_file.name.removesuffix(".item.json")
    raw_items: dict[str, dict[str, str]] = json.loads(item_file.read_text(encoding="utf-8"))
    inter: dict[str, list[int]] = json.loads((folder / f"{name}.inter.json").read_text("utf-8"))
    ids = sorted(raw_items, key=int)
    fields: dict[str, list[object]] = {
        "title": [],
        "description": [],
        "brand": [],
        "category_path": [],
    }
    for i in ids:
        for field_name, value in _rich_fields(raw_items[i]).items():
            fields[field_name].append(value)
    users = sorted(inter, key=int)
    return BenchmarkData(
        name=name,
        format="lcrec",
        items=_items_in_order(ids, **fields),
        users=[User(id=u) for u in users],
        events=_events(name, [[str(i) for i in inter[u]] for u in users], users),
    )


def read_s3rec(folder: Path) -> BenchmarkData:
    """S3-Rec: ``user item item ...`` lines (ids from 1) and item attribute ids."""
    attr_file = _one(folder, "_item2attributes.json")
    name = attr_file.name.removesuffix("_item2attributes.json")
    attributes: dict[str, list[int]] = json.loads(attr_file.read_text(encoding="utf-8"))
    users: list[str] = []
    sequences: list[list[str]] = []
    max_item = 0
    for line_no, line in enumerate(_lines(folder / f"{name}.txt"), start=1):
        parts = line.split()
        if len(parts) < 2:
            raise FormatError(f"{name}.txt:{line_no}: expected a user id and at least one item")
        users.append(parts[0])
        sequences.append(parts[1:])
        max_item = max(max_item, *(int(x) for x in parts[1:]))
    ids = [str(i) for i in range(1, max_item + 1)]
    attrs = [{"attribute_ids": " ".join(str(a) for a in attributes.get(i, []))} for i in ids]
    return BenchmarkData(
        name=name,
        format="s3rec",
        items=_items_in_order(ids, attributes=attrs),
        users=[User(id=u) for u in users],
        events=_events(name, sequences, users),
    )


def _lines(path: Path, *, skip_header: bool = False) -> list[str]:
    if not path.exists():
        raise FormatError(f"{path}: missing (the benchmark folder is incomplete)")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln for ln in (lines[1:] if skip_header else lines) if ln.strip()]
