"""Tier-3 test cluster: a genuine single-node Kubernetes built from Debian's sources.

`scripts/local-cluster` is the entry point; see docs/local-cluster.md. The package is split by
concern (build, images, certificates, network, start-up, teardown) so each part can be read and
unit-tested alone. Standard library only: it runs as root with the system Python before the
project's virtualenv may exist.
"""
