"""Reporters: the conduct result as JSON (a stable, documented shape), as JUnit XML, as one HTML
page, and the static site of the roadmap; the reports of past runs, kept for `lab report`."""
