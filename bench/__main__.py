"""`python -m bench [--only a|b|concurrency|length|cache|cpu|memory|owner|streaming ...] [options]`; see --help."""

import sys

from bench.cli import main

sys.exit(main())
