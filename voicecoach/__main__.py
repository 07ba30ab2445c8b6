"""``python -m voicecoach`` is the ``voicecoach`` command."""

import sys

from .cli import main

sys.exit(main())
