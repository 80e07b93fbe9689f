"""SnoozeDB: stops idle non-production RDS databases from Slack and starts them on time."""

__version__ = "0.1.0"
