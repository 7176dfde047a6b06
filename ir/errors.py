"""The two exceptions every layer raises for bad input."""


class SpikeforgeError(Exception):
    """A user-facing error: bad input, named. The CLI prints it without a traceback."""


class ConfigError(SpikeforgeError, ValueError):
    """A parameter is out of range or inconsistent; the message names the parameter."""
