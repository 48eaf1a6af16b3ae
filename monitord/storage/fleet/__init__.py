"""A fleet agent's store (docs/fleet.md): its location's record on PostgreSQL under fencing
tokens, and the local journal that takes over when PostgreSQL does not answer."""
