"""Whistle-and-report command-and-dispatch hub (街乡吹哨、部门报到)."""

__version__ = "0.1.0"
