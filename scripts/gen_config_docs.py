#!/usr/bin/env python
"""Regenerate docs/configuration.md from the Settings model (memsvc/config.py).

Usage::

    python scripts/gen_config_docs.py           # rewrite the page
    python scripts/gen_config_docs.py --check   # exit 1 when the page is out of date

tests/cli/test_config_docs.py runs the same check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memsvc.cli.config_docs import render_configuration_md

PAGE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only check that the page is current")
    parser.add_argument("--out", type=Path, default=PAGE, help="where the page lives")
    args = parser.parse_args()
    page = render_configuration_md()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != page:
            sys.stderr.write(f"{args.out} is out of date: run python scripts/gen_config_docs.py\n")
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
