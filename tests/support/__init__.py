"""Test helpers shared by several test packages (no tests and no fixtures here)."""
