"""Experiments: holdouts on audiences, lift and A/B readouts, uplift targeting."""
