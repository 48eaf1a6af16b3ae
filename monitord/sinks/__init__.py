"""Sinks: consumers of the pipeline's committed events (metrics, logs, Alertmanager, MQTT). They hold no store and call nothing back."""
