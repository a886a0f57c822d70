"""``python -m automation``: the platform's command line."""

import sys

from .cli import main

sys.exit(main())
