"""`python -m cli`: the `broadsheet` command."""

from cli.main import main

main()
