"""``python -m analyzer.cli`` runs the command line."""

from analyzer.cli import main

main()
