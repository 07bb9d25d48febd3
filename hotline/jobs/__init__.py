"""Background jobs that run beside every ``hotline serve`` worker.

Each job runs once per slot across all workers (``periodic``): the safety
net, escalation re-alerts, presence upkeep and the retention purge.
"""
