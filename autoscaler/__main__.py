"""``python -m autoscaler`` runs the command line."""

from autoscaler.cli import main

main()
