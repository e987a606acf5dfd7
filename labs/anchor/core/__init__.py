"""Plumbing every role shares: settings, database, Redis, ids, security, logging, metrics."""
