#!/usr/bin/env python3
"""Writes the crafted update tarballs of this folder (python3 make.py); EXPECTED says what
imprint must make of each when a url-tar transfer serves it with the right hash."""
import io, os, tarfile

def build(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in entries:
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()

def f(name, data=b"x", mode=0o644, **kw):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode
    for k, v in kw.items(): setattr(i, k, v)
    return (i, data)

def special(name, kind, **kw):
    i = tarfile.TarInfo(name); i.type = kind; i.mode = 0o644
    for k, v in kw.items(): setattr(i, k, v)
    return (i, None)

def raw_header(name, typeflag, size_field):
    """A ustar/GNU header block with a raw size field (12 bytes) and a right checksum."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
    h[124:136] = size_field
    h[136:148] = b"00000000000\0"
    h[156] = typeflag
    h[257:265] = b"ustar  \0"
    h[148:156] = b"        "
    s = sum(h)
    h[148:156] = b"%06o\0 " % s
    return bytes(h)

def base256(n):
    return b"\x80" + n.to_bytes(11, "big")

CASES = {
    "setuid-root-shell.tar": build([f("bin/sh", b"#!/bin/sh\n", 0o4755), f("bin/tool", b"x", 0o2755)]),
    "char-device.tar": build([f("ok", b"fine"), special("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1)]),
    "block-device.tar": build([special("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)]),
    "fifo.tar": build([special("run/pipe", tarfile.FIFOTYPE)]),
    "hard-link-out.tar": build([special("shadow", tarfile.LNKTYPE, linkname="../../../../../etc/shadow")]),
    "symlink-then-file.tar": build([special("escape", tarfile.SYMTYPE, linkname="/tmp"), f("escape/planted", b"x")]),
    "absolute-path.tar": build([f("/etc/planted-by-tar", b"x")]),
    "dotdot-path.tar": build([f("../../../../planted-by-tar", b"x")]),
    # a GNU sparse file that would be 10 GB: refused, not created
    "sparse-10g.tar": raw_header(b"big.img", ord("S"), b"%011o\0" % 512) + b"\0" * 512 + b"\0" * 1024,
    # an entry that says it holds 1 TiB (base-256 size): refused at its header, nothing read
    "size-bomb-1tib.tar": raw_header(b"huge", ord("0"), base256(1 << 40)) + b"\0" * 4096,
    # a GNU long name the reader would hold in memory whole: 256 MiB announced
    "long-name-256mib.tar": raw_header(b"././@LongLink", ord("L"), b"%011o\0" % (256 << 20)) + b"A" * 4096,
    # a PAX header of 64 MiB
    "pax-64mib.tar": raw_header(b"PaxHeaders/x", ord("x"), b"%011o\0" % (64 << 20)) + b"1" * 4096,
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in CASES.items():
        with open(os.path.join(here, name), "wb") as out:
            out.write(data)
