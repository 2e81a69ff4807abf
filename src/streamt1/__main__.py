"""``python -m streamt1`` (what ``torchrun ... -m streamt1 bench`` runs): the same CLI as ``streamt1``."""

import sys

from streamt1.cli import main

sys.exit(main())
