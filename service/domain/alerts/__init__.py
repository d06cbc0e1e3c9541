"""Rapid response: alerts, pages, reply codes, escalation (ALERT, REPORT, nA/nC/nE, ONCALL)."""
