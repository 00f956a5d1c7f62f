"""Test-support fixtures (tier emulator)."""
