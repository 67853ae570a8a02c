"""Files beside the database that retention deletes."""
