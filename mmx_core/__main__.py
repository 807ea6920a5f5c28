"""``python -m mmx_core``: dispatch to the subcommands in :mod:`mmx_core.commands`."""

import sys

from mmx_core.cli import main

sys.exit(main())
