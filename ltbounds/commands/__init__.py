"""One module per ``ltbounds`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``.

The module docstring is the subcommand's ``--help`` description.
"""
