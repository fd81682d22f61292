"""Tests of the HA-free engine (no hass fixture)."""
