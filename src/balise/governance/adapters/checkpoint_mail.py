"""Mail each checkpoint to a partner's address (SMTP, or the outbox when no SMTP server is
configured), so that a copy sits in a mailbox nobody at the centre controls (docs/oversight.md)."""

from __future__ import annotations

import base64
import textwrap

from balise.ports import Mailer, OutgoingEmail


class CheckpointMail:
    def __init__(self, mailer: Mailer, to: str, centre: str) -> None:
        self._mailer = mailer
        self._to = to
        self._centre = centre

    def __call__(self, name: str, document: bytes, token: bytes | None) -> None:
        """One plain-text message: the checkpoint file as it is, then the timestamp token in
        base64. Saving the file part under ``name`` gives a file `balise audit verify` reads.
        A failed send raises (DeliveryError)."""
        parts = [f"Audit checkpoint of {self._centre}: {name}",
                 ("Keep this message. Save the JSON below, exactly as it is, under the name above; "
                  "`balise audit verify --checkpoints DIR` checks it against the centre's database."),
                 f"----- BEGIN {name} -----\n{document.decode('utf-8').rstrip()}\n----- END {name} -----"]
        if token is not None:
            lines = "\n".join(textwrap.wrap(base64.b64encode(token).decode("ascii"), 76))
            parts.append(f"RFC 3161 timestamp token ({name.removesuffix('.json')}.tsr, DER in base64):\n{lines}")
        self._mailer.send(OutgoingEmail(to=self._to, subject=f"Audit checkpoint {name}",
                                        body="\n\n".join(parts) + "\n", reference=f"checkpoint-{name}"))
