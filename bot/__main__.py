"""`python -m bot` runs the same command line as `snoozedb`."""

from bot.cli import main

raise SystemExit(main())
