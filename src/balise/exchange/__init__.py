"""Exchange with other systems: the signed delta feed of indicator lists that HMA (through the
``balise_exchange`` python-threatexchange extension) and other Balise installations pull
(docs/exchange.md)."""
