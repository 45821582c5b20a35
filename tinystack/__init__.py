"""tinystack: a whole OpenStack cloud in one small, fast Python package."""

__version__ = "0.1.0"
