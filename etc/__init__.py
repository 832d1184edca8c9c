"""Operator files shipped as package data (see autoscaler/operator_files.py)."""
