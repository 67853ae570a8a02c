"""The local encrypted vault and the centre's Ed25519 signing key."""
