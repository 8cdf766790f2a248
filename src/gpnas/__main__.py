"""``python -m gpnas`` runs the command line."""

from gpnas.cli import main

main()
