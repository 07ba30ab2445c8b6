"""voicecoach: an offline, hands-free voice coach for the lying knee-to-chest stretch.

The package is split into a pure *core* (``coach``, ``intents``, ``cues``, ``clock``,
``protocol``, ``settings``, ``events``, ``simulate``) that never touches audio, threads or the
wall clock, and a thin *shell* (``audio``, ``asr``, ``tts``, ``loop``, ``cli``) that imports the
audio and speech libraries lazily.
"""

__version__ = "0.1.0"
