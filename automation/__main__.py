"""``python -m automation``: the platform's command line."""

import sys

from automation.cli import main

sys.exit(main())
