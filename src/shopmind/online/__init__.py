"""The online loop: what was shown (impressions), what came of it (attribution and the online
metrics), and experiments between bundles or rule sets (assignment and their statistics)."""

from shopmind.online.experiments import Arm, Experiment, ExperimentError, ExperimentStore
from shopmind.online.metrics import Attribution, OnlineLog, Totals
from shopmind.online.stats import Comparison, RatioEstimate

__all__ = [
    "Arm",
    "Attribution",
    "Comparison",
    "Experiment",
    "ExperimentError",
    "ExperimentStore",
    "OnlineLog",
    "RatioEstimate",
    "Totals",
]
