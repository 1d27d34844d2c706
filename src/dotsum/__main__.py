"""``python -m dotsum``: the command line (see ``dotsum.cli``)."""

import sys

from dotsum.cli import main

if __name__ == "__main__":
    sys.exit(main())
