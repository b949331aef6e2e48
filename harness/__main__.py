"""``python -m harness`` is ``ringemu``."""
import sys

from .cli import main

sys.exit(main())
