"""Fixtures for the image tests: loopback servers started once per session.

Test modules load this with `pytest_plugins = ["conftest_images"]`.
"""
from __future__ import annotations

import pytest
from imageserver import ImageServer, make_images


@pytest.fixture(scope="session")
def image_server():
    server = ImageServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def other_server():
    """A second loopback server that tests must never reach: it is not in allow_hosts."""
    server = ImageServer(images={"photo.jpg": make_images()["photo.jpg"]}).start()
    yield server
    server.stop()
