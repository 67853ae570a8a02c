"""Known material by hash: the indicator database, hashing of media, exact/PDQ/vPDQ matching."""
