"""Custom integrations shipped by this repository (makes them importable in tests)."""
