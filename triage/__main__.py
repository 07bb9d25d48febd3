"""`python -m triage …`: the same commands as `hotline triage …`."""

from triage.cli import triage_cli

if __name__ == "__main__":
    triage_cli(prog_name="python -m triage")
