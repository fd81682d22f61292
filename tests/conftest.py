"""Fixtures for every test: footage and stream servers come from the devkit plugin."""

pytest_plugins = ["devkit.pytest_plugin"]
