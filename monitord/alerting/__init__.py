"""Alert providers and event consumers: Alertmanager (people) and MQTT (machines).

Each provider is a pipeline `Sink`: `outcome()` is synchronous and only
records what must be delivered; a background task owned by the provider does
the network I/O, so a slow or absent peer never delays a probe.
"""
