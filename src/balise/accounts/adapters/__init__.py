"""Adapters of the accounts capability: the OpenID Connect relying party (oidc.py)."""
