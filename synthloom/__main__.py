"""``python -m synthloom`` runs the command line."""

from synthloom.cli import main

main()
