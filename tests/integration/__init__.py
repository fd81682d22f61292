"""Tests inside a real Home Assistant (pytest-homeassistant-custom-component)."""
