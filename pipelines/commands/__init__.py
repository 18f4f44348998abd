"""The subcommands of ``webweave``, one module per area; ``pipelines/cli.py`` assembles them.

Each module has ``add_commands(commands, common)``, which adds its parsers with
``set_defaults(handler=..., beam=...)``: ``handler(args, beam_args) -> exit code``, and
``beam=True`` when flags the command does not know may be Beam pipeline options.
"""
