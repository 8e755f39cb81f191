#!/usr/bin/env python3
"""Write layerscope's deterministic fixture images as an OCI image layout.

Usage: python scripts/make_fixtures.py OUT_DIR   (e.g. fixtures/layout; `make fixtures` does this)

The output is byte-identical on every run; index.json tags each image with
`org.opencontainers.image.ref.name` (see fixturegen.TAGS).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixturegen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="layout directory to (re)write")
    args = parser.parse_args(argv)
    refs = fixturegen.write_layout(args.out_dir)
    total = sum(p.stat().st_size for p in args.out_dir.rglob("*") if p.is_file())
    for tag, desc in refs.items():
        print(f"{tag:24} {desc['mediaType']:58} {desc['digest']}")
    print(f"{args.out_dir}: {len(refs)} tags, {total} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
