"""The browser fixture (headless Chromium, skipped where it is not installed)."""

from tests.support.browser import browser  # noqa: F401 - a fixture
