"""The one error type of the local stack: a message fit to print as a single red line."""

from __future__ import annotations


class StackError(Exception):
    """Something the local stack cannot do; the message names the service and what is missing."""
