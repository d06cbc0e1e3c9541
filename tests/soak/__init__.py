"""The soak: the invariants of DESIGN.md under load, crashes and outages at once.

    python -m tests.soak --seconds 120        (or: make soak)

Prints a one-screen report and exits non-zero if any check fails.
"""
