"""Content: checked copy per persona, campaign goal and format, from the brand file."""
