"""The monitoring core: check state, services, events, scheduler, the pipeline (the one writer) and the probe runner."""
