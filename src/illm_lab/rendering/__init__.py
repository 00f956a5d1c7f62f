"""Turning an experiment into objects offline: manifests and Helm values (`render`), and
writing a rendering out (`output`). Charts are rendered by `charts/`, which builds on this."""
