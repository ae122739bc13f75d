"""Thin entry points called by DVC stages and the ``segments`` CLI."""
