"""A python-threatexchange ``SignalExchangeAPI`` for a Balise exchange list, so that a Meta
hasher-matcher-actioner (HMA) installation, or the ``threatexchange`` command line, fetches a
Balise indicator list with its updates and deletions (docs/exchange.md#for-an-hma-operator).

It imports nothing of Balise: install it where HMA runs with ``pip install 'balise[exchange]'``
or copy this one file. It needs python-threatexchange, requests (which python-threatexchange
brings) and, to check the feed's signatures, cryptography.

    collab = BaliseCollabConfig(name="balise-known", base_url="https://balise.example",
                                list_name="known_indicators", public_key_pem=open("balise.pem").read())
    api = BaliseSignalExchangeAPI.for_collab(collab, BaliseCredentials("<API key>"))
    for delta in api.fetch_iter([PdqSignal], checkpoint=None): ...

The API key is found, when not given, in ``BALISE_EXCHANGE_API_KEY`` or ``~/.balise_exchange_key``.
Its organisation needs a live access grant to download the list (Balise refuses otherwise).
"""

from __future__ import annotations

import base64
import json
import time
import typing as t
from dataclasses import dataclass, field

import requests
from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPIWithSimpleUpdates
from threatexchange.signal_type.signal_base import SignalType

__all__ = ["BaliseCheckpoint", "BaliseCollabConfig", "BaliseCredentials", "BaliseExchangeError",
           "BaliseSignalExchangeAPI", "BaliseSignalMetadata"]

FEED_VERSION = 1


class BaliseExchangeError(Exception):
    """The Balise server refused or answered something this client cannot trust."""


@dataclass
class _BaliseCollabRequired:
    base_url: str = field(metadata={"help": "the Balise installation, e.g. https://balise.example"})
    list_name: str = field(metadata={"help": "known_indicators, new_indicators, solicitation_indicators or url_list"})


@dataclass
class BaliseCollabConfig(CollaborationConfigWithDefaults, _BaliseCollabRequired):
    public_key_pem: str = field(default="", metadata={
        "help": "the PEM of Balise's signing key (GET /api/v1/exchange-key, checked out of band); "
                "every page's signature is verified against it"})
    page_size: int = 1000
    timeout_s: float = 30.0


@dataclass
class BaliseCheckpoint(state.FetchCheckpointBase):
    """The last Balise indicator version fetched."""

    version: int
    fetched_at: int = 0

    def get_progress_timestamp(self) -> t.Optional[int]:
        return self.fetched_at or None


@dataclass
class BaliseSignalMetadata(state.FetchedSignalMetadata):
    indicator_id: int
    version: int
    kind: str
    classification: t.Dict[str, t.Any] = field(default_factory=dict)

    def get_as_opinions(self) -> t.Sequence[state.SignalOpinion]:
        tags = {self.kind}
        if self.classification.get("ncmec_category"):
            tags.add(f"ncmec_{self.classification['ncmec_category']}")
        return [state.SignalOpinion(False, state.SignalOpinionCategory.POSITIVE_CLASS, tags)]


class BaliseCredentials(auth.CredentialHelper):
    ENV_VARIABLE = "BALISE_EXCHANGE_API_KEY"
    FILE_NAME = "~/.balise_exchange_key"

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    @classmethod
    def _from_str(cls, s: str) -> t.Optional["BaliseCredentials"]:
        return cls(s.strip()) if s.strip() else None

    def _are_valid(self) -> bool:
        return bool(self.api_key) and " " not in self.api_key


def _verifier(pem: str) -> t.Optional[t.Callable[[bytes, bytes], None]]:
    if not pem:
        return None
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise BaliseExchangeError("public_key_pem is not an Ed25519 public key")

    def verify(signature: bytes, body: bytes) -> None:
        try:
            key.verify(signature, body)
        except InvalidSignature:
            raise BaliseExchangeError("the page's signature does not verify with the configured key") from None

    return verify


class BaliseSignalExchangeAPI(
    auth.SignalExchangeWithAuth[BaliseCollabConfig, BaliseCredentials],
    SignalExchangeAPIWithSimpleUpdates[BaliseCollabConfig, BaliseCheckpoint, BaliseSignalMetadata],
):
    """Pulls ``GET /api/v1/exchange/{list}?since=<version>`` page by page; an entry marked
    ``deleted`` comes out as a deletion (None) of its (signal type, value)."""

    def __init__(self, collab: BaliseCollabConfig, api_key: str,
                 session: t.Optional[requests.Session] = None) -> None:
        self.collab = collab
        self._api_key = api_key
        self._session = session or requests.Session()
        self._verify = _verifier(collab.public_key_pem)

    @classmethod
    def get_name(cls) -> str:
        return "balise"

    @staticmethod
    def get_config_cls() -> t.Type[BaliseCollabConfig]:
        return BaliseCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> t.Type[BaliseCheckpoint]:
        return BaliseCheckpoint

    @staticmethod
    def get_record_cls() -> t.Type[BaliseSignalMetadata]:
        return BaliseSignalMetadata

    @staticmethod
    def get_credential_cls() -> t.Type[BaliseCredentials]:
        return BaliseCredentials

    @classmethod
    def for_collab(cls, collab: BaliseCollabConfig,
                   credentials: t.Optional[BaliseCredentials] = None) -> "BaliseSignalExchangeAPI":
        credentials = credentials or BaliseCredentials.get(cls)
        return cls(collab, credentials.api_key)

    def _page(self, since: int) -> t.Dict[str, t.Any]:
        url = f"{self.collab.base_url.rstrip('/')}/api/v1/exchange/{self.collab.list_name}"
        response = self._session.get(url, params={"since": since, "limit": self.collab.page_size},
                                     headers={"Authorization": f"Bearer {self._api_key}"},
                                     timeout=self.collab.timeout_s, allow_redirects=False)
        if response.status_code != 200:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = response.text[:200]
            raise BaliseExchangeError(f"Balise answered {response.status_code}: {detail}")
        if self._verify is not None:
            header = response.headers.get("Balise-Signature", "")
            if not header.startswith("ed25519="):
                raise BaliseExchangeError("the page is not signed")
            try:
                signature = base64.b64decode(header.removeprefix("ed25519="), validate=True)
            except ValueError:
                raise BaliseExchangeError("the page's signature is not base64") from None
            self._verify(signature, response.content)
        page = json.loads(response.content)
        if page.get("feed_version") != FEED_VERSION or page.get("list") != self.collab.list_name:
            raise BaliseExchangeError("the page is not a version-1 page of the list asked for")
        return page

    def fetch_iter(
        self,
        supported_signal_types: t.Sequence[t.Type[SignalType]],
        checkpoint: t.Optional[BaliseCheckpoint],
    ) -> t.Iterator[state.FetchDelta[t.Tuple[str, str], BaliseSignalMetadata, BaliseCheckpoint]]:
        since = checkpoint.version if checkpoint is not None else 0
        while True:
            page = self._page(since)
            updates: t.Dict[t.Tuple[str, str], t.Optional[BaliseSignalMetadata]] = {}
            for entry in page["entries"]:
                key = (entry["signal_type"], entry["signal_value"])
                updates[key] = None if entry["deleted"] else BaliseSignalMetadata(
                    entry["id"], entry["version"], entry["kind"], entry.get("classification") or {})
            until = int(page["until"])
            if until < since:
                raise BaliseExchangeError(f"the server went back from version {since} to {until}")
            since = until
            yield state.FetchDelta(updates, BaliseCheckpoint(since, int(time.time())))
            if not page["more"]:
                return
