"""sitegen: a fast static site generator for Hexo-compatible archives."""

__version__ = "0.1.0"
