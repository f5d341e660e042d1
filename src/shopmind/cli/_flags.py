"""Typer's command and group classes, with flags shown as flags in ``--help``.

Typer's Rich help prints a type column for every option, so a flag such as ``--rollback``
reads as if it took a value (``--rollback <bool>``). A flag takes none: these classes leave
its type column empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

F = TypeVar("F", bound=Callable[..., Any])


def _as_flags(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""  # the type column shows the metavar when one is set
    return params


class FlagCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _as_flags(super().get_params(ctx))


class FlagGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _as_flags(super().get_params(ctx))


class App(typer.Typer):
    """A Typer app whose commands (and itself) show flags as flags."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(cls=FlagGroup, **settings)

    def command(self, *args: Any, **settings: Any) -> Callable[[F], F]:
        settings.setdefault("cls", FlagCommand)
        register: Callable[[F], F] = super().command(*args, **settings)
        return register
