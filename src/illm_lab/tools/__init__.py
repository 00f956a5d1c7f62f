"""Adapter for external tools (helm, talosctl, kind, docker): the only package that imports `sh`."""
