"""The long-running ``autoscaler run`` service: scheduling, state, HTTP, signals, systemd.

Only this package reads the wall clock (``clock.WallClock``); everything it drives
receives time as a parameter. apscheduler is imported here and nowhere else.
"""
