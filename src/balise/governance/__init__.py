"""Oversight of Balise itself: the tamper-evident audit trail and retention."""
