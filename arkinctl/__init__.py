"""arkinctl: find out why a client sees no data in the Karify portal, and fix it."""

__version__ = "0.1.0"
