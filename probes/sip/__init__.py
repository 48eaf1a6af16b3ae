"""SIP for monitoring: our own small RFC 3261 implementation.

Layout follows the sans-IO split: `message`, `uri`, `transaction`, `routing`
(where a received message goes, what is discarded) and `uas` are pure (bytes
and times in, events out) so they can be tested without sockets; `datagram`
(the shared UDP sockets), `streams` (the TCP/TLS pool), `transport` (the
transaction driver wiring them), `options` and `responder` are the thin
asyncio layer.
"""
