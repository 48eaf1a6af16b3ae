"""SIP for monitoring: our own small RFC 3261 implementation.

Layout follows the sans-IO split: `message`, `uri`, `transaction` and `uas`
are pure (bytes and times in, events out) so they can be tested without
sockets; `transport`, `options` and `responder` are the thin asyncio layer.
"""
