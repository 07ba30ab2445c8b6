"""Shared fixtures. tests/ has no __init__.py, so its helper modules import by name."""

from pulse_fixtures import pulse_devices_fixture  # noqa: F401  (the pulse_devices fixture)
