"""Tests on the public real data sets: a package, so that its conftest does not shadow
tests/conftest.py for the modules that import from it."""
