"""The RAM the QEMU driver gives a guest: the flavor's, plus 8 KiB under TCG so that QEMU
7.2's live migration keeps tracking the guest's stores (definition.ram_pad_kib); a restore
or an incoming migration gives QEMU what the guest booted with. The live migrations of
tests/compute_qemu run guests booted this way."""

from __future__ import annotations

from pathlib import Path

from tinystack.compute.virt.qemu.definition import Definition, command, ram_pad_kib


def _memory(defn: Definition, tmp_path: Path, accel: str) -> str:
    cmd = command(
        defn, tmp_path, binary="qemu", accel=accel, vnc_listen="127.0.0.1", websocket_offset=0
    )
    return cmd[cmd.index("-m") + 1]


def test_tcg_guests_get_a_size_off_64_pages(tmp_path: Path) -> None:
    defn = Definition(uuid="u", name="n", hostname="h", flavor={"vcpus": 1, "memory_mb": 256})
    assert ram_pad_kib("kvm") == 0
    defn.ram_pad_kib = ram_pad_kib("tcg")
    assert _memory(defn, tmp_path, "tcg") == "262152k"  # 256 MiB + 8 KiB
    assert (defn.ram_kib * 1024) % (64 * 4096)  # not QEMU 7.2's word-at-a-time path
    defn.ram_pad_kib = ram_pad_kib("kvm")
    assert _memory(defn, tmp_path, "kvm") == "262144k"


def test_a_guest_keeps_the_size_it_booted_with(tmp_path: Path) -> None:
    booted = Definition(uuid="u", name="n", hostname="h", flavor={"memory_mb": 128})
    booted.ram_pad_kib = 8
    again = Definition.from_dict(booted.to_dict())  # as saved, or sent to a destination
    assert _memory(again, tmp_path, "tcg") == "131080k"
    # one saved before the pad existed restores with the size it booted with
    old = {k: v for k, v in booted.to_dict().items() if k != "ram_pad_kib"}
    assert _memory(Definition.from_dict(old), tmp_path, "tcg") == "131072k"
