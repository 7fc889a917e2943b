"""ECR lifecycle policies: parse and validate (`policy`), simulate (`simulate`), lint (`lint`)."""

from .lint import lint
from .policy import Policy, Problem, Rule, parse, validate
from .simulate import simulate, summary

__all__ = ["Policy", "Problem", "Rule", "lint", "parse", "simulate", "summary", "validate"]
