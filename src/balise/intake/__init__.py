"""Reports in: the provider API's Annex III schema and filing, the public form, the NCMEC-compatible /ispws."""
