"""The `salesflow` command: `topics ...` (shared.cli) and `reps ...` (tools.reps)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["reps"]:
        from tools.reps import main as reps_main

        return reps_main(args[1:])
    from shared.cli import main as shared_main

    return shared_main(args)


if __name__ == "__main__":
    sys.exit(main())
