"""The course harness: services, tracker, pytest plugin, CLI and site hooks."""
