"""Simulated GPU fleet: trace-driven placement, fragmentation and scheduling replays."""
