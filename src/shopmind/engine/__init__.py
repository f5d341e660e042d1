"""The Engine (a thin dispatcher over the ranking pipelines), the live catalogue and history
reads."""

from shopmind.engine.engine import Answer, Engine, Exclude, Recommended

__all__ = ["Answer", "Engine", "Exclude", "Recommended"]
