"""Personalisation: what to show each person (recommendations) and when to send."""
