"""`python -m quietpoll.cli`: the same as the `quietpoll` console script."""

import sys

from . import main

sys.exit(main())
