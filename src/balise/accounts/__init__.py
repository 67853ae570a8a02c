"""Accounts and access: organisations and their API keys, staff users, the actor behind every action."""
