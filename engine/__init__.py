"""HeadSplat engine: everything that computes. Imports no Qt."""
__version__ = "0.1.0"
