"""The text the language model reads for an item, composed from its fields by a template."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shopmind.data.dataset import ItemSide


class TextTemplate(BaseModel):
    """Which fields go into an item's text, in which order, and how much description.

    ``pattern`` uses ``str.format`` fields: ``{title}``, ``{brand}``, ``{category}`` (the path
    joined by " > "), ``{leaf}``, ``{attributes}`` ("key: value" pairs of ``attributes``) and
    ``{description}`` (cut to ``description_chars`` at a word boundary). Parts that come out
    empty are dropped with their separator.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: tuple[str, ...] = ("{title}", "{brand}", "{category}", "{attributes}", "{description}")
    separator: str = ". "
    description_chars: int = Field(default=300, ge=0)
    #: Item attributes worth reading (e.g. colour, material); others are left out.
    attributes: tuple[str, ...] = ()

    def render(
        self,
        *,
        title: str = "",
        brand: str = "",
        category: Sequence[str] = (),
        description: str = "",
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """One item's text."""
        attrs = attributes or {}
        values = {
            "title": title.strip(),
            "brand": brand.strip(),
            "category": " > ".join(category),
            "leaf": category[-1] if category else "",
            "attributes": ", ".join(
                f"{key}: {attrs[key]}"
                for key in self.attributes
                if attrs.get(key) not in (None, "")
            ),
            "description": _cut(description.strip(), self.description_chars),
        }
        parts = [part.format(**values).strip() for part in self.pattern]
        return self.separator.join(p.rstrip(". ") for p in parts if p.rstrip(". "))


def item_texts(items: ItemSide, template: TextTemplate | None = None) -> list[str]:
    """The text of every item of a snapshot, in index order."""
    template = template or TextTemplate()
    return [
        template.render(
            title=items.title[i],
            brand=items.brand[i],
            category=items.category[i],
            description=items.description[i],
            attributes=items.attributes[i],
        )
        for i in range(len(items.title))
    ]


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[: space if space > limit // 2 else limit]
