"""RTP media for synthetic calls: pure cores, no sockets, time passed in.

`g711` encodes the test signal, `packet` and `rtcp` parse and serialize the
wire formats (RFC 3550), `stats` keeps the receive-side accounting
(RFC 3550 Appendix A) and `sender` paces packets by absolute deadlines. The
asyncio call probe drives these with `loop.time()`; tests drive them with
plain floats.
"""
