"""`python -m bench [--duration-s 30] [--clients 64] [--turns 200] [--only a|b]`."""

import sys

from bench.cli import main

sys.exit(main())
