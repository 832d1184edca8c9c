"""``autoscaler sweep``: ``simulate`` over a grid of scenarios, one cell per task."""
