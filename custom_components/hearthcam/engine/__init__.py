"""HearthCam's engine: streams, motion, recording and clips, free of Home Assistant imports.

Only the standard library, PyAV and numpy may be imported here (tests/test_engine_isolation.py).
"""
