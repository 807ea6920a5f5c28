"""``python -m mmx_core``: dispatch to the subcommands in :mod:`mmx_core.commands`."""

from mmx_core.cli import main

raise SystemExit(main())
