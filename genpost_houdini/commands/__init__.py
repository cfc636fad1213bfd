"""CLI sub-commands: thin argument parsing over the core. One module per command group.

Contract for each module: ``register(subparsers) -> None`` adds parser(s) and sets
``handler=<function(args) -> int | None>`` with ``set_defaults``. Only argparse at top level.
"""
