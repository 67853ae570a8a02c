"""SIGINT mid-scan: exit 130, then the same command finishes the rest without re-hashing what was
done, and the results equal those of an uninterrupted run."""

from __future__ import annotations

import signal

from tests.scan_resume_support import check_resume


def test_resume_after_sigint(tmp_path):
    check_resume(tmp_path, signal.SIGINT, 130)
