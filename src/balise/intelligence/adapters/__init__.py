"""Readers of the files themselves: metadata that investigators use as leads."""
