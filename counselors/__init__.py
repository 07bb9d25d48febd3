"""The staff side: sign-in and roles, the counsellor console."""
