"""``python -m streamt1`` (what ``torchrun ... -m streamt1 bench`` runs) and the ``streamt1`` command."""

import sys


def run() -> int:
    """The CLI, with a Ctrl-C during start-up (importing torch takes seconds) ending as one line too."""
    try:
        from streamt1.cli import main
    except KeyboardInterrupt:
        print("streamt1: interrupted while starting; nothing was written", file=sys.stderr)
        return 130  # streamt1.cli.EXIT_INTERRUPTED, which is not imported yet
    return main()


if __name__ == "__main__":
    sys.exit(run())
