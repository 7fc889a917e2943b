"""Collect ECR from every account × region into an Inventory (see `run.collect`)."""
from .progress import StderrProgress
from .run import collect

__all__ = ["StderrProgress", "collect"]
