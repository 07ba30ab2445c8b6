"""``python -m voicecoach.bench``: the same as ``voicecoach bench``."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
