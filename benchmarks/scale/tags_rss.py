"""RSS of one tag table holding N memories (issue 15's bytes per memory): run it against two
checkouts to compare their tag tables.

    python benchmarks/scale/tags_rss.py 1000000 /work/main       # from /work/main
    python benchmarks/scale/tags_rss.py 1000000 .                # from this checkout
"""

from __future__ import annotations

import gc
import json
import sys

import numpy as np

sys.path.insert(0, sys.argv[2])
from benchmarks.scale.run import rss_bytes
from memsvc.index.base import IndexTags
from memsvc.index.tags import TagTable


def main() -> None:
    """Upsert N keys in chunks of 50,000; print RSS growth per memory as JSON."""
    n = int(sys.argv[1])
    tag = IndexTags("scale-user", None, None)
    gc.collect()
    before = rss_bytes()
    table = TagTable()
    for start in range(0, n, 50_000):
        keys = np.arange(start + 1, min(start + 50_000, n) + 1, dtype=np.int64) | (2 << 56)
        table.upsert(keys, [tag] * len(keys))
    gc.collect()
    growth = rss_bytes() - before
    print(json.dumps({"checkout": sys.argv[2], "n": n, "rss_bytes_per_memory": growth / n}))


if __name__ == "__main__":
    main()
