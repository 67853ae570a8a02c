"""Evidence: the encrypted vault (every read and write audited), signed police packages and their verifier."""
