"""Errors a user can act on: the CLI prints the message on one line and exits with code 2."""


class CoachError(Exception):
    """A problem with the user's input or machine, explained in plain words.

    The message names the file, field or device and what is allowed; the CLI prints
    it without a traceback.
    """

    exit_code = 2


class AudioFileError(CoachError):
    """A recording that cannot be read (missing, empty, truncated, not audio, too long)."""


class ConfigError(CoachError):
    """A settings or plan file that is not valid TOML or has a bad value."""


class DeviceError(CoachError):
    """No usable microphone or speaker, or the device vanished."""
