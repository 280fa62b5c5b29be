"""`python -m chat_cli`: the same as the `chat` console script."""

import sys

from chat_cli.main import main

sys.exit(main())
