"""Reporters: the conduct result as JSON (a stable, documented shape) and as JUnit XML."""
