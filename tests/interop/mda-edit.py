#!/usr/bin/env python3
"""Reads or replaces the committed metadata text of a PV's first metadata
area, with valid checksums: the tool the tests use to plant metadata that
is well-formed on disk but wrong inside (duplicate names, copies that
disagree), which neither LVM2 nor rlvm would write.

    mda-edit.py DEV get > text      the committed text (without the NUL)
    mda-edit.py DEV put < text      write text as the committed copy

Layout (lib/format_text/layout.h): the mda header at 4096 is 512 bytes:
crc32 (of the 508 bytes after it), magic, version, start, size, then
raw_locn slots {offset, size, checksum, flags}. The CRC is LVM2's: the
reflected CRC-32 seeded with 0xf597a6cf, no pre- or post-inversion.
"""
import struct
import sys
import zlib

MDA = 4096
HDR = 512
INITIAL_CRC = 0xF597A6CF


def lvm_crc(data):
    return ~zlib.crc32(data, ~INITIAL_CRC & 0xFFFFFFFF) & 0xFFFFFFFF


def read_header(f):
    f.seek(MDA)
    hdr = bytearray(f.read(HDR))
    start, size = struct.unpack_from("<QQ", hdr, 0x18)
    offset, length, checksum, flags = struct.unpack_from("<QQII", hdr, 0x28)
    return hdr, start, size, offset, length


def main():
    dev, op = sys.argv[1], sys.argv[2]
    with open(dev, "r+b") as f:
        hdr, start, size, offset, length = read_header(f)
        if op == "get":
            if offset + length > size:
                sys.exit("mda-edit: the committed copy wraps; not handled")
            f.seek(start + offset)
            sys.stdout.buffer.write(f.read(length).rstrip(b"\0"))
            return
        text = sys.stdin.buffer.read() + b"\0"
        # The new copy goes right after the current one, sector aligned,
        # or back at the start of the text area when it does not fit.
        new = (offset + length + 511) // 512 * 512
        if new + len(text) > size:
            new = 512
        if new < offset + length and new + len(text) > offset:
            sys.exit("mda-edit: no room for the new copy")
        f.seek(start + new)
        f.write(text)
        struct.pack_into("<QQII", hdr, 0x28, new, len(text), lvm_crc(text), 0)
        struct.pack_into("<I", hdr, 0, lvm_crc(bytes(hdr[4:])))
        f.seek(MDA)
        f.write(hdr)
        f.flush()


if __name__ == "__main__":
    main()
