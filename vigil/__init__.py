"""Vigil: continuous discovery of online ads linked to trafficking in human beings."""

__version__ = "0.1.0"
