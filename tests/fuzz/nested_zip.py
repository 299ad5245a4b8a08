#!/usr/bin/env python3
"""nested_zip.py N SIZE > FILE — a zip archive of N stored entries nested
inside each other: entry i's content is entry i+1's local header and
content, the innermost holds SIZE bytes.  Every CRC-32 and size is right,
so daemon/bundles/zip.c accepted it and checked the innermost bytes N
times: the work grew as N x SIZE in an archive of about SIZE + 78 N
bytes; it now refuses it.  tests/fuzz/corpus/bundle/
regress-zip-nested-entries is `nested_zip.py 3 10` (see README,
"Fuzzing").
"""
import struct
import sys
import zlib


def nested(n, payload):
    names = [b"f%d" % i for i in range(n)]
    crcs, sizes, data = [0] * n, [0] * n, payload
    for i in reversed(range(n)):          # innermost first
        crcs[i], sizes[i] = zlib.crc32(data), len(data)
        data = struct.pack("<IHHHHHIIIHH", 0x04034b50, 10, 0, 0, 0, 0,
                           crcs[i], sizes[i], sizes[i], len(names[i]),
                           0) + names[i] + data
    cdir, off = b"", 0
    for i in range(n):
        cdir += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 10, 0, 0,
                            0, 0, crcs[i], sizes[i], sizes[i],
                            len(names[i]), 0, 0, 0, 0, 0, off) + names[i]
        off += 30 + len(names[i])
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cdir),
                      len(data), 0)
    return data + cdir + end


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.stdout.buffer.write(nested(int(sys.argv[1]), b"x" * int(sys.argv[2])))
