"""Orders: the registry of removal, blocking and detection orders (CSAR Art. 7, 14, 16), their
life cycle, their clocks and the access a detection order gives (docs/orders.md)."""
