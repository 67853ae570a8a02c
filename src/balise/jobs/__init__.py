"""Durable background jobs on a database table, and the periodic jobs that re-queue themselves."""
