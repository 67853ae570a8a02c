"""Intelligence: links across reports (docs/intelligence.md)."""
