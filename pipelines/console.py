"""The ``webweave`` console script: Ctrl-C handling first, then the command line.

Importing the command line takes a second or two (Beam, pyarrow); the interrupt watcher is
installed before that, so an early Ctrl-C also ends in one line and exit code 130.
"""

from __future__ import annotations

import sys


def main() -> int:
    from webweave.pipelines import interrupts

    try:
        interrupts.install()
        from webweave.pipelines.cli import main as cli_main

        return cli_main(sys.argv[1:])
    except KeyboardInterrupt:  # only before the watcher took over
        print(f"\n{interrupts.MESSAGE}", file=sys.stderr)
        return interrupts.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
