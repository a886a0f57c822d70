"""``python -m mlplatform``: the ``mlplatform`` command."""

import sys

from mlplatform.cli import main

sys.exit(main())
