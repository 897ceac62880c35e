"""One module per CLI subcommand.

Each module defines ``register(subparsers)``, which adds its subparser and sets
``func`` (called with the parsed arguments, returning an exit status). The CLI
finds them by listing this package, so a new command is a new file.
"""
