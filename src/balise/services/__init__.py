"""One module per use case. Services talk to ports and to a SQLAlchemy session (the unit of
work), never to the web layer."""
