"""Supervision: escalation board, history, transcripts (audited), audit log."""
