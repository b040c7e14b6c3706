"""``python -m birge …``: the same as the ``birge`` console command (see birge/cli.py)."""

import sys

from birge.cli import main

sys.exit(main())
