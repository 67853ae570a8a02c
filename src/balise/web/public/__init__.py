"""The public reporting form: anonymous reports from the public and from children."""
