"""The counsellor console: page and ``/console`` namespace."""
