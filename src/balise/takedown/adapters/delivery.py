"""Delivering a notice over its channel: e-mail, signed webhook, or a file in the export
directory (for partners served by hand or by a separate secure transfer, and the default
for seeded partners so that nothing leaves the machine until an administrator says so)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from balise.takedown.ports import DeliveryProblem, Outgoing


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ExportDeliverer:
    """<export dir>/<partner>/<reference>.txt (+ .json, + the package zip). Writing the same
    reference again replaces the files: a repeat is recognisable and harmless."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def deliver(self, outgoing: Outgoing) -> dict[str, Any]:
        folder = self._root / (outgoing.partner_slug or "unaddressed")
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            text = f"Subject: {outgoing.subject}\nReference: {outgoing.reference}\n\n{outgoing.body}\n"
            meta: dict[str, Any] = {"reference": outgoing.reference, "kind": outgoing.kind,
                                    "report_id": outgoing.report_id, "language": outgoing.language}
            if outgoing.order_id:
                meta["order_id"] = outgoing.order_id
            if outgoing.package_path:
                package = Path(outgoing.package_path)
                target = folder / package.name
                shutil.copyfile(package, folder / f".tmp-{package.name}")
                os.replace(folder / f".tmp-{package.name}", target)
                meta.update(package_id=outgoing.package_id, package_sha256=outgoing.package_sha256,
                            package_file=target.name)
            _atomic_write(folder / f"{outgoing.reference}.json", json.dumps(meta, indent=2, sort_keys=True).encode())
            _atomic_write(folder / f"{outgoing.reference}.txt", text.encode("utf-8"))
        except OSError as exc:
            raise DeliveryProblem(f"cannot write to the export directory {folder}: {exc}", retryable=True) from exc
        return {"exported_to": str(folder)}


class ChannelDeliverer:
    """Chooses the adapter by the notice's channel."""

    def __init__(self, *, email: Callable[[Outgoing], dict[str, Any]], webhook: Callable[[Outgoing], dict[str, Any]],
                 export: ExportDeliverer) -> None:
        self._email = email
        self._webhook = webhook
        self._export = export

    def deliver(self, outgoing: Outgoing) -> dict[str, Any]:
        if outgoing.channel == "email":
            if not outgoing.recipient:
                raise DeliveryProblem("no e-mail address for this recipient", retryable=False)
            return self._email(outgoing)
        if outgoing.channel == "webhook":
            if not outgoing.recipient or not outgoing.webhook_secret:
                raise DeliveryProblem("the webhook endpoint or its secret is not configured", retryable=False)
            return self._webhook(outgoing)
        if outgoing.channel == "export":
            return self._export.deliver(outgoing)
        raise DeliveryProblem(f"the recipient has no delivery channel ({outgoing.channel}); configure the partner",
                              retryable=False)
