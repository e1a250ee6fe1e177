"""Forecasts: purchase quantities per product."""
