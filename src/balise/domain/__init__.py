"""Pure rules and types. Nothing here imports the web, the database or the queue."""
