"""`balise scan`: bulk scan of seized media (GitHub issue 6).

Walk directories and archives, hash every file (MD5, SHA-1, SHA-256, PDQ, vPDQ) on local
processes or a Dask cluster, match against indicator lists or a Balise server, cluster unknown
images into series, rank them for review, and keep a resumable SQLite state. See docs/scan.md.
"""

from balise.scan.runner import ScanOptions, ScanSummary, run_scan

__all__ = ["ScanOptions", "ScanSummary", "run_scan"]
