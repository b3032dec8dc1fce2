"""Talker's desktop app. Nothing is imported here: `talker --callto` must stay light."""

__version__ = "0.1.0"
