"""The ``seismo`` command. One module per subcommand (``cmd_*.py``), discovered by name."""
