"""``python -m pawfile.cli``: the ``pawfile`` command."""

import sys

from pawfile.cli import main

sys.exit(main())
