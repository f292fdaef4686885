"""``python -m ltbounds`` is the ``ltbounds`` console script."""

import sys

from ltbounds.cli import main

sys.exit(main())
