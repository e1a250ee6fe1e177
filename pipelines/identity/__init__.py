"""Identity resolution's logic that outlives one run: the key registry (keys.py) and the
probabilistic matcher (fuzzy.py, over the comparison columns of features.py). The dbt Python
models under models/intermediate/identity call them; they are plain functions on Polars frames,
so they are tested without dbt."""
