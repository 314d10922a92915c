"""``python -m entrypoints.cli``: the ``navigator`` command without its script."""

import sys

from entrypoints.cli.main import main

sys.exit(main())
