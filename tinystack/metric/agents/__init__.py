"""The metric service's workers (the notification agent)."""
