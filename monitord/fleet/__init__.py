"""Fleets (docs/fleet.md): agents at several locations share checks; one judge decides.

Pure cores (the quorum judge, rendezvous assignment with fencing, membership
by heartbeat) are sans-IO and tested without a database; the PostgreSQL
layers around them hold no rule of their own.
"""
