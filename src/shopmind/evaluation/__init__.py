"""Full-ranking evaluation: metrics, the evaluator, slices, reports and the tuning loop."""

from shopmind.evaluation.evaluator import EvalResult, evaluate
from shopmind.evaluation.metrics import METRICS, bootstrap_ci, per_row_metrics, target_ranks

__all__ = ["METRICS", "EvalResult", "bootstrap_ci", "evaluate", "per_row_metrics", "target_ranks"]
