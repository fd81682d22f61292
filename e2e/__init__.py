"""A real Home Assistant with HearthCam, end to end: the demo stack and its end-to-end test."""
