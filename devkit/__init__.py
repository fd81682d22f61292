"""Development kit: synthetic camera footage and loopback stream servers for tests."""
