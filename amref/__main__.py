"""``python -m amref`` is the ``amref`` command."""

import sys

from .cli import main

sys.exit(main())
