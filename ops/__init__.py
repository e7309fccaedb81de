"""Operational helpers that the Makefile and workflows call: `python -m ops <command>`."""
