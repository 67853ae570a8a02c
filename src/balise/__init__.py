"""Balise: receive, detect, triage, route and verify reports of online child sexual abuse material."""

__version__ = "0.1.0"
