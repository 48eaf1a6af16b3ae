"""HTTP: /metrics, /healthz, the JSON API and the SLA endpoints."""
