"""Hashing (exact, PDQ, vPDQ with PyAV, in a bounded child), the PDQ index, vPDQ matching."""
