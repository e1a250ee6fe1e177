"""Marketing intelligence pipelines for small businesses."""
