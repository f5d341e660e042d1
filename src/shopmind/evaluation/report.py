"""Evaluation tables as Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def markdown_table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table: one row per key of ``rows``, the given metric columns."""
    head = "| model | " + " | ".join(columns) + " |"
    rule = "| --- | " + " | ".join("---:" for _ in columns) + " |"
    lines = [head, rule]
    for name, values in rows.items():
        cells = [_cell(values.get(c)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def write_json(path: str | Path, payload: Any) -> Path:
    """Write JSON (sorted, indented), creating the folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    return out
