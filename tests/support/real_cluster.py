"""Test-support fixtures (tier real_cluster)."""
