"""The .qob section table, read the way docs/CPUBackend.md specifies it:
a 64-byte header (magic at 0, section count at 12, table offset at 24) and
48-byte table entries (16-byte NUL-padded name, then offset and size).
Shared by the Python tests that take bundles apart
(test/Runtime/Bundle/check_bundle_abi.py, test/e2e/check_gpu_compile.py,
test/fuzz/make_seeds.py).
"""

import struct

MAGIC = b"QOPTBNDL"


def section_table(data):
    """name -> (offset, size) of every section of bundle bytes `data`."""
    if data[:8] != MAGIC:
        raise ValueError("not a QuantOpt bundle (bad magic)")
    count, = struct.unpack_from("<I", data, 12)
    table, = struct.unpack_from("<Q", data, 24)
    result = {}
    for i in range(count):
        at = table + 48 * i
        name = data[at:at + 16].rstrip(b"\0").decode()
        result[name] = struct.unpack_from("<QQ", data, at + 16)
    return result


def section_bytes(data):
    """name -> bytes of every section of bundle bytes `data`."""
    return {name: data[offset:offset + size]
            for name, (offset, size) in section_table(data).items()}
