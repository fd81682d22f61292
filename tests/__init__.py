"""HearthCam tests."""
