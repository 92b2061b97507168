"""sitegen: a fast static site generator for Hexo-compatible archives."""

__version__ = "0.1.0"


def code_key(*modules: str) -> str:
    """A key of sitegen's version and of these modules' source, for caches of what
    that code makes: an editable install keeps its version while the code changes."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha1(__version__.encode())
    for module in modules:
        try:
            h.update(Path(__file__).with_name(f"{module}.py").read_bytes())
        except OSError:
            h.update(module.encode())
    return h.hexdigest()
