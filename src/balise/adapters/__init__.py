"""Real drivers behind the ports: storage, vault, crypto."""
