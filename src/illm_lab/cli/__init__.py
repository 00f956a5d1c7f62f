"""Typer commands: parse options, call one core function, hand the result to `ui`.

Core modules are imported inside the command functions, so `lab --help` stays cheap and
`kubernetes` is imported only by commands that talk to a cluster.
"""
