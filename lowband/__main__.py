"""`python -m lowband` runs the command line."""

import sys

from lowband.cli import main

sys.exit(main())
