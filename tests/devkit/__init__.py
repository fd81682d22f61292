"""Tests of the development kit: footage generator and loopback stream servers."""
