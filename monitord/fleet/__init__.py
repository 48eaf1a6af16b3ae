"""Fleets (docs/fleet.md): agents at several locations share checks; one judge decides.

Pure cores (the quorum judge, rendezvous assignment with fencing, membership
by heartbeat) are sans-IO and tested without a database; the agent and judge
loops apply them. What they write lives in `monitord/storage/`: the fleet's
tables (`storage/postgresql/`), an agent's store and journal (`storage/fleet/`).
"""
