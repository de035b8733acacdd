"""coach: a voice-guided listening coach for two people, run locally."""

__version__ = "0.1.0"
