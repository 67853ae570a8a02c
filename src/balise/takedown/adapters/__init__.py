"""The safe fetcher, offline geolocation, RDAP, e-mail (SMTP or outbox), signed webhooks, delivery."""
