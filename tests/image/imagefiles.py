"""Small disk images of each format, built by writing their headers (no qemu-img needed)."""

from __future__ import annotations

import os
import struct

MiB = 1024 * 1024


def raw(size: int = 4096, seed: int = 7) -> bytes:
    """Data no inspector recognises."""
    block = bytes((i * 131 + seed * 17 + (i >> 8) * 7) % 251 for i in range(4096))
    return (block * (size // 4096 + 1))[:size]


def qcow2(
    virtual_size: int = 64 * MiB,
    *,
    version: int = 3,
    backing_file: bytes = b"",
    data_file: bool = False,
    size: int = 196608,
) -> bytes:
    """A qcow2 image header (cluster size 64 KiB) padded to ``size`` bytes."""
    cluster_bits = 16
    header_length = 104 if version == 3 else 72
    backing_offset = header_length if backing_file else 0
    incompatible = 0b100 if data_file else 0
    fields = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb",
        version,
        backing_offset,
        len(backing_file),
        cluster_bits,
        virtual_size,
        0,  # crypt method
        1,  # l1 size
        0x30000,  # l1 table offset
        0x10000,  # refcount table offset
        1,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
    )
    if version == 3:
        fields += struct.pack(">QQQII", incompatible, 0, 0, 4, header_length)
    data = fields + backing_file
    return data + b"\0" * (size - len(data))


def vmdk(virtual_size: int = 64 * MiB, *, extent: str = "disk.vmdk", size: int = 65536) -> bytes:
    """A monolithicSparse VMDK: sparse header plus embedded descriptor."""
    sectors = virtual_size // 512
    descriptor = (
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicSparse"\n\n'
        f'RW {sectors} SPARSE "{extent}"\n\n'
        'ddb.virtualHWVersion = "4"\n'
    ).encode()
    header = struct.pack(
        "<4sIIQQQQIQQQ?cccc",
        b"KDMV",
        1,
        3,
        sectors,
        128,  # grain size (sectors)
        1,  # descriptor offset (sectors)
        20,  # descriptor size (sectors)
        512,  # GTEs per GT
        0,
        22,  # grain directory offset
        0x100,  # overhead
        False,
        b"\n",
        b" ",
        b"\r",
        b"\n",
    )
    data = header.ljust(512, b"\0") + descriptor.ljust(20 * 512, b"\0")
    return data.ljust(size, b"\0")


def vhd(virtual_size: int = 64 * MiB, size: int = 4096) -> bytes:
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    footer[40:48] = struct.pack(">Q", virtual_size)
    footer[48:56] = struct.pack(">Q", virtual_size)
    return bytes(footer).ljust(size, b"\0")


def vhdx(virtual_size: int = 64 * MiB) -> bytes:
    """The VHDX structures the inspector reads: identity, region table, metadata, size."""
    data = bytearray(1024 * 1024)
    data[0:8] = b"vhdxfile"
    meta_guid = _guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
    size_guid = _guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
    region = 192 * 1024
    data[region : region + 16] = struct.pack("<IIII", 0x69676572, 0, 1, 0)
    meta_offset = 512 * 1024
    data[region + 16 : region + 48] = meta_guid + struct.pack("<QII", meta_offset, 64 * 1024, 1)
    data[meta_offset : meta_offset + 12] = struct.pack("<8sHH", b"metadata", 0, 1)
    entry = meta_offset + 32
    data[entry : entry + 28] = size_guid + struct.pack("<III", 64 * 1024, 8, 0)
    item = meta_offset + 64 * 1024
    data[item : item + 8] = struct.pack("<Q", virtual_size)
    return bytes(data)


def _guid(text: str) -> bytes:
    parts = text.split("-")
    head = struct.pack("<IHH", int(parts[0], 16), int(parts[1], 16), int(parts[2], 16))
    return head + bytes.fromhex(parts[3] + parts[4])


def iso(blocks: int = 64) -> bytes:
    """An ISO 9660 primary volume descriptor at 32 KiB, 2 KiB blocks."""
    data = bytearray(blocks * 2048)
    pvd = 16 * 2048
    data[pvd] = 1
    data[pvd + 1 : pvd + 6] = b"CD001"
    data[pvd + 6] = 1
    data[pvd + 80 : pvd + 88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)
    data[pvd + 128 : pvd + 132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)
    return bytes(data)


def mbr_disk(size: int = 65536) -> bytes:
    """A raw disk with an MBR partition table (detected as gpt/mbr, acceptable as raw)."""
    data = bytearray(size)
    entry = 446
    data[entry + 4] = 0x83  # Linux partition
    data[entry + 8 : entry + 12] = struct.pack("<I", 1)
    data[entry + 12 : entry + 16] = struct.pack("<I", size // 512 - 1)
    data[510:512] = b"\x55\xaa"
    return bytes(data)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)
