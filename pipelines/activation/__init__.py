"""Audience exports for marketing platforms, with consent and suppression built in."""
