"""Casework on a report: triage, the analyst's assessment and four eyes, the legal and service clocks."""
