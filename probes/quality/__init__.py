"""Call-quality models: pure functions from measured figures to a rating."""
