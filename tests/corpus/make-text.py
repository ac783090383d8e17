#!/usr/bin/env python3
"""Writes the crafted definition files, manifests, UKIs and LUKS headers of tests/corpus
(python3 make-text.py). Each folder's EXPECTED says what imprint must make of each file."""
import json, os, struct

here = os.path.dirname(os.path.abspath(__file__))

def put(folder, name, data):
    with open(os.path.join(here, folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

SRC = "[Source]\nType=url-file\nPath=http://127.0.0.1/os\nMatchPattern=usr_@v.raw\n"
TGT = "[Target]\nType=partition\nPath=auto\nMatchPattern=usr_@v\nMatchPartitionType=usr\n"
transfer = {
    "no-source.transfer": TGT,
    "pattern-twice.transfer": SRC.replace("usr_@v.raw", "usr_@v_@v.raw") + TGT,
    "pattern-glob.transfer": SRC.replace("usr_@v.raw", "usr_*.raw") + TGT,
    "instances-huge.transfer": SRC + TGT + "InstancesMax=99999999999999999999999\n",
    "nul-byte.transfer": SRC + "Key\0=x\n" + TGT,
    "not-utf8.transfer": (SRC + TGT).encode() + b"\xff\xfe\xfd\n",
    "no-equals.transfer": SRC + "JustAWord\n" + TGT,
    "long-line.transfer": SRC + "MatchPattern=" + "a" * 1_000_000 + "@v\n" + TGT,
    "unknown-type.transfer": SRC.replace("url-file", "smb-share") + TGT,
    "bad-mode.transfer": SRC + TGT + "Mode=9999\n",
}
for n, d in transfer.items():
    put("transfer", n, d)

profile = {
    "unknown-key.conf": "[Profile]\nName=x\nColour=blue\n",
    "bad-name.conf": "[Profile]\nName=../../etc\n",
    "bad-pcrs.conf": "[Profile]\nName=x\n[Encryption]\nPCRs=7+99\n",
    "empty-pcrs.conf": "[Profile]\nName=x\n[Encryption]\nPCRs=\n",
    "sha512-pin.conf": "[Profile]\nName=x\n[Reset]\nShowMenu=yes\nPIN=$6$salt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl\n",
    "plaintext-pin.conf": "[Profile]\nName=x\n[Reset]\nShowMenu=yes\nPIN=4711\n",
    "section-unclosed.conf": "[Profile\nName=x\n",
    "not-utf8.conf": b"[Profile]\nName=\xff\xfe\n",
    "huge-disk-size.conf": "[Profile]\nName=x\n[Match]\nMinDiskSize=99999999999999999999T\n",
}
for n, d in profile.items():
    put("profile", n, d)

repart = {
    "no-type.conf": "[Partition]\nLabel=x\n",
    "size-overflow.conf": "[Partition]\nType=root\nSizeMinBytes=18446744073709551615\nSizeMaxBytes=18446744073709551615\nPaddingMinBytes=18446744073709551615\n",
    "size-huge-suffix.conf": "[Partition]\nType=root\nSizeMinBytes=99999999999E\n",
    "min-above-max.conf": "[Partition]\nType=root\nSizeMinBytes=2G\nSizeMaxBytes=1G\n",
    "copyblocks-and-format.conf": "[Partition]\nType=root\nCopyBlocks=auto\nFormat=ext4\n",
    "bad-type.conf": "[Partition]\nType=not-a-type\n",
    "label-too-long.conf": "[Partition]\nType=root\nLabel=" + "x" * 100 + "\n",
    "priority-huge.conf": "[Partition]\nType=root\nPriority=99999999999999\n",
    "not-utf8.conf": b"[Partition]\nType=root\nLabel=\xff\n",
    "weight-zero-div.conf": "[Partition]\nType=root\nWeight=0\nPaddingWeight=0\n",
}
for n, d in repart.items():
    put("repart", n, d)

H = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
sums = {
    "slash-in-name": f"{H}  ../../etc/shadow\n",
    "short-hash": f"{H[:10]}  usr_1.raw\n",
    "upper-hash": f"{H.upper()}  usr_1.raw\n",
    "no-separator": f"{H}usr_1.raw\n",
    "nul-in-name": f"{H}  usr\0_1.raw\n",
    "dot-dot": f"{H}  ..\n",
    "duplicate": f"{H}  usr_1.raw\n{H}  usr_1.raw\n",
    "very-long-name": f"{H}  " + "u" * 100_000 + "\n",
}
for n, d in sums.items():
    put("sha256sums", n, d)

def pe(sections, nsect_claim=None, opt_size=0, sect_table_at=None):
    """A PE image: MZ, e_lfanew, PE header, sections (name, vsize, raw offset, raw size)."""
    v = bytearray(0x40)
    v[0:2] = b"MZ"
    v[0x3C:0x40] = struct.pack("<I", 0x40)
    v += b"PE\0\0"
    n = len(sections) if nsect_claim is None else nsect_claim
    v += struct.pack("<HHIIIHH", 0x8664, n, 0, 0, 0, opt_size, 0)
    v += b"\0" * opt_size
    for name, vsize, off, size in sections:
        v += name.ljust(8, b"\0")[:8] + struct.pack("<IIIIIIHHI", vsize, 0, size, off, 0, 0, 0, 0, 0)
    return bytes(v)

uki = {
    "truncated.efi": b"MZ\0\0",
    "lfanew-beyond.efi": b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0xFFFFFFF0),
    "sections-65535.efi": pe([], nsect_claim=0xFFFF),
    "section-beyond-file.efi": pe([(b".pcrpkey", 0x1000, 0x100000, 0x1000)]),
    "section-offset-wraps.efi": pe([(b".pcrpkey", 0x10, 0xFFFFFFF0, 0x100)]),
    "section-huge.efi": pe([(b".pcrpkey", 0xFFFFFFFF, 0x200, 0xFFFFFFFF)]),
    "optional-header-beyond.efi": pe([(b".pcrpkey", 4, 0x200, 4)], opt_size=0xFFFF),
    "not-pe.efi": b"This is not a PE file at all, just text pretending to be a UKI.\n" * 10,
}
for n, d in uki.items():
    put("uki", n, d)

def luks2(hdr_size=16384, json_obj=None, json_raw=None, magic=b"LUKS\xba\xbe", version=2):
    h = bytearray(4096)
    h[0:6] = magic
    h[6:8] = struct.pack(">H", version)
    h[8:16] = struct.pack(">Q", hdr_size)
    h[168:204] = b"0f6c3c8e-6a8e-4a63-9b3c-31a7c9d9e1aa"
    j = json_raw if json_raw is not None else json.dumps(json_obj).encode()
    return bytes(h) + j

luks = {
    "hdr-size-huge.luks": luks2(hdr_size=1 << 62, json_obj={}),
    "hdr-size-odd.luks": luks2(hdr_size=16385, json_obj={}),
    "json-not-json.luks": luks2(json_raw=b"{not json"),
    "keyslot-overflow.luks": luks2(json_obj={"keyslots": {"0": {"area": {"offset": "18446744073709551615", "size": "18446744073709551615"}}}}),
    "keyslots-size-overflow.luks": luks2(json_obj={"config": {"keyslots_size": "18446744073709551615"}}),
    "segment-negative.luks": luks2(json_obj={"segments": {"0": {"offset": "-1"}}}),
    "json-deep.luks": luks2(json_raw=b"[" * 5000 + b"]" * 5000),
    "luks1-payload-huge.luks": (b"LUKS\xba\xbe\x00\x01" + b"\0" * 96 + struct.pack(">I", 0xFFFFFFFF)).ljust(4096, b"\0"),
    "version-9.luks": luks2(version=9, json_obj={}),
}
for n, d in luks.items():
    put("luks", n, d.ljust(128 << 10, b"\0"))

# sizes whose sum overflows 64 bits
put("repart", "size-sum-overflow.conf", "[Partition]\nType=root\nSizeMinBytes=8E\nPaddingMinBytes=8E\n")
put("repart", "two-parts-overflow.conf", "[Partition]\nType=root\nSizeMinBytes=15E\n")
put("repart", "two-parts-overflow2.conf", "[Partition]\nType=usr\nSizeMinBytes=15E\n")
