"""kill -9 mid-scan (no chance to clean up): the same command resumes from the last committed
batch, re-hashes only unfinished files, and the results equal an uninterrupted run's."""

from __future__ import annotations

import signal

from tests.scan_resume_support import check_resume


def test_resume_after_kill_9(tmp_path):
    check_resume(tmp_path, signal.SIGKILL, -9)
