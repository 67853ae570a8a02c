"""A coordinating authority and its API key, for the Article 36 submission tests."""

from __future__ import annotations

import uuid

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind, Scope


def make_authority(balise: Balise, name: str = "Test Coordinating Authority") -> tuple[uuid.UUID, str]:
    with balise.db.transaction() as session:
        org = balise.organisations.create(session, Actor.system("test"), name=name,
                                          kind=OrgKind.COORDINATING_AUTHORITY, country="FR")
        key = balise.organisations.issue_key(session, Actor.system("test"), org, (Scope.REPORTS_READ,))
        return org.id, key.plaintext
