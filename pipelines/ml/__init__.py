"""Predictive scores: features as of a date, labels from what happened next, XGBoost models."""
