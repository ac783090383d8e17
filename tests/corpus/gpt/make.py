#!/usr/bin/env python3
"""Writes the crafted GPT disks of this folder (python3 make.py). Each is 160 blocks of 512 bytes;
EXPECTED says what imprint must make of each. The images are committed; this script is how they
were made, so a change to one is a change here."""
import struct, uuid, zlib, os

S, LBAS = 512, 160
LINUX = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")
ROOT = uuid.UUID("4f68bce3-e8cd-4db1-96e7-fbcaf984b709")

def entry(size, ptype, n, first, last, name):
    e = ptype.bytes_le + uuid.UUID(int=n).bytes_le + struct.pack("<QQQ", first, last, 0)
    e += name.encode("utf-16-le").ljust(72, b"\0")
    return e.ljust(size, b"\0")

def disk(entry_size=128, num=128, parts=((40, 79, "root-x86-64"), (80, 119, "usr-x86-64")), *,
         num_claimed=None, header_size=92, first_usable=None, last_usable=None, entries_lba=None,
         bad_primary_crc=False, bad_backup_crc=False, bad_array_crc=False, lbas=LBAS):
    img = bytearray(lbas * S)
    arr_lbas = -(-num * entry_size // S)
    fu = 2 + arr_lbas if first_usable is None else first_usable
    lu = lbas - 2 - arr_lbas if last_usable is None else last_usable
    array = b"".join(entry(entry_size, LINUX if i else ROOT, i + 1, a, b, nm) for i, (a, b, nm) in enumerate(parts))
    array = array.ljust(num * entry_size, b"\0")
    acrc = zlib.crc32(array) ^ (1 if bad_array_crc else 0)
    claimed = num if num_claimed is None else num_claimed
    for my, alt, at, bad in ((1, lbas - 1, 2 if entries_lba is None else entries_lba, bad_primary_crc),
                             (lbas - 1, 1, lbas - 1 - arr_lbas, bad_backup_crc)):
        h = bytearray(struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, header_size, 0, 0,
                                  my, alt, fu, lu, uuid.UUID(int=0xd15c).bytes_le, at, claimed, entry_size, acrc))
        h = h.ljust(min(header_size, S), b"\0")
        crc = zlib.crc32(bytes(h)) ^ (1 if bad else 0)
        h[16:20] = struct.pack("<I", crc)
        img[my * S:my * S + len(h)] = h
        img[at * S:at * S + len(array)] = array
    # protective MBR
    img[446:462] = struct.pack("<BBBBBBBBII", 0, 0, 2, 0, 0xEE, 0xff, 0xff, 0xff, 1, lbas - 1)
    img[510:512] = b"\x55\xaa"
    return bytes(img)

CASES = {
    "good-128.img": disk(),
    "entry-size-256.img": disk(entry_size=256, num=64),
    "entry-size-4096.img": disk(entry_size=4096, num=4),
    "entry-size-100.img": disk(entry_size=100, num=128),
    "entries-0.img": disk(num=128, num_claimed=0),
    "entries-4294967295.img": disk(num=128, num_claimed=0xFFFFFFFF),
    "overlapping.img": disk(parts=((40, 90, "root-x86-64"), (80, 119, "usr-x86-64"))),
    "entry-beyond-disk.img": disk(parts=((40, 79, "root-x86-64"), (80, 100000, "usr-x86-64"))),
    "entry-lba-wraps.img": disk(parts=((40, 79, "root-x86-64"), (0xFFFFFFFFFFFFFFF0, 0xFFFFFFFFFFFFFFFF, "usr-x86-64"))),
    "entry-reversed.img": disk(parts=((79, 40, "root-x86-64"),)),
    "usable-beyond-disk.img": disk(last_usable=1 << 40),
    "array-in-usable-area.img": disk(entries_lba=50),
    "header-size-huge.img": disk(header_size=4080),
    "crc-wrong-primary-only.img": disk(bad_primary_crc=True),
    "crc-wrong-both.img": disk(bad_primary_crc=True, bad_backup_crc=True),
    "array-crc-wrong.img": disk(bad_array_crc=True),
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, data in CASES.items():
        with open(os.path.join(here, name), "wb") as f:
            f.write(data)
