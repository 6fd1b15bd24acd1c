"""The `reelm` command line (entry point `reelm.cli.main:main`): one module per group of commands.

Commands are entry points, like the web routes: they parse arguments, open a runtime and call domain
services; they hold no rules of their own.
"""
