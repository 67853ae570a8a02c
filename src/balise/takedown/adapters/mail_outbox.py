"""Keep notice emails as .eml files instead of sending them (the embedded default).

With ``BALISE_SMTP_URL`` empty, nothing leaves the machine: each message is written to
``<data dir>/outbox/<reference>.eml``, exactly the bytes SMTP would have carried, readable by
any mail client. A retried send of the same notice replaces its file, so there is one file per
notice. Files are written to a temporary name in the same directory, flushed to disk and then
renamed, so a reader never sees half a message; they are readable by the service's user only,
because a notice lists addresses of abuse material.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path

from balise.ports import DeliveryError, DeliveryResult, OutgoingEmail
from balise.takedown.adapters.mail import build_email, utc_now

TEMP_PREFIX = ".incoming-"


class OutboxMailer:
    def __init__(self, directory: Path, sender: Address, clock: Callable[[], datetime] = utc_now) -> None:
        self.directory = Path(directory)
        self._sender = sender
        self._clock = clock

    def path_for(self, reference: str) -> Path:
        return self.directory / f"{reference}.eml"

    def send(self, message: OutgoingEmail) -> DeliveryResult:
        msg = build_email(message, self._sender, self._clock())
        # The reference passed build_email's check (letters, digits, '.', '_', '-'; no leading
        # dot), so it is a plain file name inside the outbox.
        target = self.path_for(message.reference)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._write_atomically(target, msg.as_bytes())
        except OSError as exc:
            # A full disk or a permission problem can be fixed while the job waits.
            raise DeliveryError(True, "outbox_write", f"cannot write {target}: {exc.strerror or exc}") from exc
        return DeliveryResult(channel="outbox", message_id=str(msg["Message-ID"]), response=f"written to {target}")

    def _write_atomically(self, target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)
