"""The base every layer stands on: the error tree, paths, the YAML reader, object identity,
offline knowledge of Kubernetes kinds, the Jinja2 sandbox every template runs in, and the typed
events a run emits. Imports nothing of lab outside itself."""
