"""Exception hierarchy: one base class and one subclass per stage.

Every error a user can meet carries a one-line message meant to be printed as is; the CLI turns
these into ``voicecoach: <message>`` and a non-zero exit status, never a traceback.
"""

from __future__ import annotations


class VoiceCoachError(Exception):
    """Base class of every error voicecoach raises on purpose."""


class ConfigError(VoiceCoachError):
    """A setting, config file or script is invalid."""


class IntentError(VoiceCoachError):
    """The intent templates could not be loaded."""


class CueError(VoiceCoachError):
    """The cue data is missing or broken."""


class AudioError(VoiceCoachError):
    """No usable microphone or speaker, or an audio stream failed."""


class RecogniserError(VoiceCoachError):
    """The speech recogniser could not be created or failed."""


class ModelError(VoiceCoachError):
    """A speech model is missing, partial, corrupt, or could not be downloaded."""


class SpeechOutError(VoiceCoachError):
    """Text-to-speech failed."""
