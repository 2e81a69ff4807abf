"""stream-t1: test-time scaling for streaming video generation."""

__version__ = "0.1.0"
