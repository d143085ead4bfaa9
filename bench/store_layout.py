"""Where an Oxigraph (RocksDB) store's bytes are: SST files by compression, and by column family
where the file says so.

Why: pyoxigraph 0.5 opens RocksDB with ``optimize_level_style_compaction``: no compression for
L0 and the first level below it, LZ4 further down, with ``level_compaction_dynamic_level_bytes``.
A column family under 512 MB has its data at the base level (L6), so whatever a *compaction*
writes there is uncompressed, while the files a bulk load ingests (``SstFileWriter``: the last
level's LZ4) stay compressed until a compaction merges them. A bulk load of more than one batch
(one ``bulk_load`` call, or 1,000,000 quads inside one) overlaps the earlier ones in every index
(the keys are term hashes) and is compacted. The split compressed / uncompressed says how much
of a store went through compaction. The column family is named by files a compaction or flush
wrote; ``SstFileWriter`` files do not record it ("?").

Usage::

    .venv/bin/python bench/store_layout.py STORE/current/rdf [...]
"""

from __future__ import annotations

import re
import sys
import zlib
from collections import defaultdict
from pathlib import Path

_FAMILY = re.compile(rb"name(id2str|spog|posg|ospg|gspo|gpos|gosp|dspo|dpos|dosp|graphs|default)")
_COMPRESSION = re.compile(rb"ression(NoCompression|LZ4HC|LZ4|Snappy|ZSTD|Zlib)")
_TAIL = 1 << 16  # the properties block sits at the end of an SST file
MB = 1 << 20


def sst_bytes(folder: Path | str) -> dict[tuple[str, str], int]:
    """Bytes of the SST files of a RocksDB folder per (column family, compression)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for path in Path(folder).glob("*.sst"):
        size = path.stat().st_size
        with open(path, "rb") as handle:
            handle.seek(max(0, size - _TAIL))
            tail = handle.read()
        family, compression = _FAMILY.search(tail), _COMPRESSION.search(tail)
        kind = compression.group(1).decode() if compression else _by_content(path, size)
        out[(family.group(1).decode() if family else "?", kind)] += size
    return dict(out)


def _by_content(path: Path, size: int) -> str:
    """The compression of a file whose properties do not name it (RocksDB 11 writes ";;" for some):
    data that zlib still shrinks to under half was stored as it is."""
    with open(path, "rb") as handle:
        handle.seek(size // 2)
        sample = handle.read(1 << 18)
    return "NoCompression" if len(zlib.compress(sample, 1)) * 2 < len(sample) else "?"


def uncompressed_mb(folder: Path | str) -> float:
    """MB of the folder's SST files written without compression (by compactions and flushes)."""
    return sum(v for (_, c), v in sst_bytes(folder).items() if c == "NoCompression") / MB


def main(argv: list[str]) -> int:
    for folder in argv:
        total = sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
        print(f"{folder}: {total / MB:,.1f} MB")
        for (family, compression), size in sorted(sst_bytes(folder).items(), key=lambda kv: -kv[1]):
            print(f"  {family:8} {compression:14} {size / MB:9,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
