"""Probes: one module per protocol, each configured once and called with a deadline.

Probes never touch check state, storage or exporters; they only measure.
"""
