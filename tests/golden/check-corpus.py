#!/usr/bin/env python3
"""Self-consistency check of the golden corpus (no root, no LVM needed).

For every case and every pvN.head.gz (and pvN.tail.gz when present) this
independently decodes the LVM2 label, pv_header and mda header(s), verifies
the three CRCs (label, mda header, metadata text -- chained over both pieces
when the committed copy wraps) and checks that the committed text equals the
text LVM's own `pvck --dump metadata` produced (pvN.mda1.txt / pvN.mda2.txt).

Usage: tests/golden/check-corpus.py [CASES_DIR]
"""
import gzip
import json
import os
import struct
import sys
import zlib

INITIAL_CRC = 0xF597A6CF
MDA_MAGIC = b" LVM2 x[5A%r0N*>"
MIB = 1 << 20


def lvm_crc(buf, seed=INITIAL_CRC):
    return zlib.crc32(buf, seed ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def locns(buf, off):
    out = []
    while True:
        o, s = struct.unpack_from("<QQ", buf, off)
        off += 16
        if o == 0:
            return out, off
        out.append((o, s))


def check_pv(case_dir, i, meta_pv):
    head = gzip.open(os.path.join(case_dir, f"pv{i}.head.gz")).read()
    assert len(head) == MIB, "head is not 1 MiB"
    tail = None
    if "tail" in meta_pv:
        tail = gzip.open(os.path.join(case_dir, meta_pv["tail"])).read()
        tail_off = meta_pv["tail_offset"]
    lab = head[512:1024]
    assert lab[:8] == b"LABELONE", "no label at sector 1"
    sector, crc, hoff = struct.unpack_from("<QII", lab, 8)
    assert sector == 1 and lab[24:32] == b"LVM2 001"
    assert crc == lvm_crc(lab[20:]), "label crc"
    ph = hoff
    uuid = lab[ph:ph + 32].decode()
    assert uuid == meta_pv["pv_uuid"].replace("-", ""), "pv uuid"
    (dev_size,) = struct.unpack_from("<Q", lab, ph + 32)
    assert dev_size == meta_pv["size_bytes"], "device size"
    das, off = locns(lab, ph + 40)
    mdas, off = locns(lab, off)

    def read(abs_off, n):
        if abs_off + n <= MIB:
            return head[abs_off:abs_off + n]
        assert tail is not None and abs_off >= tail_off, f"offset {abs_off} not stored"
        return tail[abs_off - tail_off:abs_off - tail_off + n]

    texts = []
    for m, (mstart, msize) in enumerate(mdas, 1):
        h = read(mstart, 512)
        if tail is None and mstart + 512 > MIB:
            continue
        assert struct.unpack_from("<I", h, 0)[0] == lvm_crc(h[4:]), "mda header crc"
        assert h[4:20] == MDA_MAGIC
        ver, start, size = struct.unpack_from("<IQQ", h, 20)
        assert ver == 1 and start == mstart and size == msize
        roff, rsize, rcrc, rflags = struct.unpack_from("<QQII", h, 40)
        wrap = max(0, roff + rsize - size)
        first = read(mstart + roff, rsize - wrap)
        second = read(mstart + 512, wrap) if wrap else b""
        assert lvm_crc(second, lvm_crc(first)) == rcrc, "text crc"
        text = first + second
        assert text.endswith(b"\0")
        ref = os.path.join(case_dir, f"pv{i}.mda{m}.txt")
        if os.path.exists(ref):
            assert open(ref, "rb").read() == text[:-1], f"{ref} differs from on-disk text"
        texts.append((m, roff, rsize, wrap))
    return texts


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
    bad = 0
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        meta = json.load(open(os.path.join(d, "meta.json")))
        for i, pv in enumerate(meta["pvs"]):
            try:
                res = check_pv(d, i, pv)
                desc = ", ".join(f"mda{m} @{o}+{s}" + (f" (wraps {w})" if w else "") for m, o, s, w in res)
                print(f"ok   {case}/pv{i}: {desc}")
            except AssertionError as e:
                bad += 1
                print(f"FAIL {case}/pv{i}: {e}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
