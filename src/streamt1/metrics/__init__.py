"""Evaluation metrics (VBench names and conventions)."""

from streamt1.metrics.sprites import METRIC_NAMES, evaluate_video

__all__ = ["METRIC_NAMES", "evaluate_video"]
