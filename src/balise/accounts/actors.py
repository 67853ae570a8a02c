"""Who did something: every write and every read is attributed to an actor."""

from __future__ import annotations

from dataclasses import dataclass

from balise.domain.model import ActorType


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str
    label: str = ""

    @classmethod
    def system(cls, name: str = "balise") -> Actor:
        return cls(ActorType.SYSTEM, name, name)

    @classmethod
    def organisation(cls, org_id: str, name: str = "") -> Actor:
        return cls(ActorType.ORGANISATION, org_id, name)

    @classmethod
    def staff(cls, user_id: str, username: str = "") -> Actor:
        return cls(ActorType.STAFF, user_id, username)
