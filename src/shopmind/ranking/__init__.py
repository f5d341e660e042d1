"""The ranking pipeline: one request = one Slate through the stages (see ``pipeline``)."""

from shopmind.ranking.context import ItemArrays, RankingContext
from shopmind.ranking.pipeline import Pipeline
from shopmind.ranking.rules import RuleSet, RuleStore, parse_rules
from shopmind.ranking.scorers import BlendScorer, LightGBMScorer, LogisticScorer, load_scorer
from shopmind.ranking.slate import Exclusion, Request, Slate
from shopmind.ranking.sources import Sources

__all__ = [
    "BlendScorer",
    "Exclusion",
    "ItemArrays",
    "LightGBMScorer",
    "LogisticScorer",
    "Pipeline",
    "RankingContext",
    "Request",
    "RuleSet",
    "RuleStore",
    "Slate",
    "Sources",
    "load_scorer",
    "parse_rules",
]
