"""Validation checks: probes of the cluster, retried until their deadline, with diagnostics."""
