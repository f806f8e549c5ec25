"""``python -m wavegen.cli``: the same as the ``wavegen`` command."""

from __future__ import annotations

import sys

from wavegen.cli.app import main

sys.exit(main())
