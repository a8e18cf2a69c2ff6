# Copyright (c) 2026, localai.gallery contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image shapes for the benchmarks, written layer by layer to files (memory stays small while building).

- `cuda`: one layer, like LocalAI's CUDA builds (FROM scratch + one COPY): a few shared libraries of 120-250 MB
  of poorly compressible bytes and a few hundred small files;
- `venv`: one layer, like a Python backend: 30,000 small source files and 600 relative symlinks;
- `three-layer`: the mixed image of the first benchmark (3 layers, 12,000 files each).

Each layer is kept both as a plain tar (to time writing alone) and as gzip at level 6 (Go's and Docker's
default), with its digest, size, diff id, unpacked bytes and entry count.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

TEXT = b"    return self.session.request(method, url, verify=self.verify, timeout=120, **kwargs)  # 0123456789\n"


def _entry(archive: tarfile.TarFile, name: str, data: bytes = b"", mode: int = 0o644, kind: bytes = tarfile.REGTYPE,
           target: str = "") -> int:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.type = mode, 1700000000, kind
    if kind == tarfile.SYMTYPE:
        info.linkname = target
        archive.addfile(info)
        return 0
    if kind == tarfile.DIRTYPE:
        archive.addfile(info)
        return 0
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
    return len(data)


def _poorly_compressible(rng: random.Random, size: int) -> bytes:
    """Machine-code-like bytes: mostly random, a quarter in short repeated runs (gzip saves 15-25%)."""
    parts, total = [], 0
    while total < size:
        block = rng.randbytes(3072) + bytes([rng.randrange(256)]) * 1024
        parts.append(block)
        total += len(block)
    return b"".join(parts)[:size]


def _cuda(archive: tarfile.TarFile, rng: random.Random) -> tuple[int, int]:
    unpacked = files = 0
    unpacked += _entry(archive, "run.sh", b"#!/bin/sh\nexec ./llama-cpp-avx2 \"$@\"\n", 0o755)
    _entry(archive, "lib", kind=tarfile.DIRTYPE, mode=0o755)
    for name, megabytes in (("libcublasLt.so.12", 250), ("libcublas.so.12", 120), ("libggml-cuda.so", 180)):
        data = _poorly_compressible(rng, megabytes << 20)
        unpacked += _entry(archive, "lib/" + name, data, 0o755)
        files += 1
    for number in range(300):
        data = (TEXT * (1 + rng.randrange(400)))[:rng.randrange(1000, 40000)]
        unpacked += _entry(archive, "share/grammars/file%03d.gbnf" % number, data)
        files += 1
    return unpacked, files + 1


def _venv(archive: tarfile.TarFile, rng: random.Random) -> tuple[int, int]:
    unpacked = files = 0
    unpacked += _entry(archive, "run.sh", b"#!/bin/sh\nexec venv/bin/python backend.py \"$@\"\n", 0o755)
    _entry(archive, "venv/bin", kind=tarfile.DIRTYPE, mode=0o755)
    for number in range(30000):
        size = min(int(rng.lognormvariate(8.0, 1.1)), 400000)
        data = (TEXT * (1 + size // len(TEXT)))[:size]
        unpacked += _entry(archive, "venv/lib/python3.11/site-packages/pkg%03d/module%05d.py" % (number % 400, number),
                           data)
        files += 1
    for number in range(600):
        _entry(archive, "venv/lib/python3.11/site-packages/pkg%03d/alias%03d.py" % (number % 400, number),
               kind=tarfile.SYMTYPE, target="module%05d.py" % number)
        files += 1
    return unpacked, files + 1


def _mixed(seed: int):
    def build(archive: tarfile.TarFile, rng: random.Random) -> tuple[int, int]:
        text = b"llama.cpp backend payload line with some repetition 0123456789\n" * 256
        unpacked = 0
        for number in range(12000):
            size = int(rng.lognormvariate(8.7, 1.3)) % (4 << 20)
            random_part = size * 60 // 100
            data = rng.randbytes(random_part) + (text * (1 + size // len(text)))[: size - random_part]
            unpacked += _entry(archive, "layer%d/dir%03d/file%05d.bin" % (seed, number % 300, number), data)
        unpacked += _entry(archive, "run.sh", b"#!/bin/sh\n", 0o755)
        return unpacked, 12001
    return build


SHAPES = {"cuda": [_cuda], "venv": [_venv], "three-layer": [_mixed(seed) for seed in range(3)]}


def build_layers(shape: str, work: str) -> list[dict]:
    """Write each layer of a shape as tar and tar.gz under work (in a child process); return their records.

    The child keeps the benchmark's own process small: a contender forked from a process that once held the
    shape's 250 MB libraries would report that memory as its own peak RSS."""
    completed = subprocess.run([sys.executable, os.path.abspath(__file__), shape, work], stdout=subprocess.PIPE,
                               check=True, text=True)
    return json.loads(completed.stdout)


def _build_layers(shape: str, work: str) -> list[dict]:
    layers = []
    for number, builder in enumerate(SHAPES[shape]):
        tar_path = os.path.join(work, "%s-layer%d.tar" % (shape, number))
        with open(tar_path, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
            unpacked, files = builder(archive, random.Random(number))
        diff_id = hashlib.sha256()
        gz_path = tar_path + ".gz"
        with open(tar_path, "rb") as source, open(gz_path, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as packed:
            while True:
                chunk = source.read(1 << 20)
                if not chunk:
                    break
                diff_id.update(chunk)
                packed.write(chunk)
        with open(gz_path, "rb") as blob:
            digest = "sha256:" + hashlib.file_digest(blob, "sha256").hexdigest()
        layers.append({"tar": tar_path, "path": gz_path, "digest": digest, "size": os.path.getsize(gz_path),
                       "diff_id": "sha256:" + diff_id.hexdigest(), "unpacked": unpacked, "files": files})
    return layers


if __name__ == "__main__":
    print(json.dumps(_build_layers(sys.argv[1], sys.argv[2])))
