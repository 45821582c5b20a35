"""A clean stop presses the guest's power button again while the guest runs on
(``press_power_button``, shared by the QEMU and libvirt drivers): a guest still booting
misses the first press, as upstream's libvirt driver allows for by re-sending its
shutdown every 10 s of the minute it waits. No QEMU here: the guest is a stand-in that
powers off on the n-th press."""

from __future__ import annotations

import time

import pytest

from tinystack.compute.virt.qemu.machine import POWER_BUTTON_INTERVAL, press_power_button


class Guest:
    """Powers off a moment after its ``listens_from``-th press; earlier presses are lost
    (its button driver not loaded yet); presses once it is going fail like a closed QMP
    socket."""

    def __init__(self, listens_from: int) -> None:
        self.listens_from = listens_from
        self.presses: list[float] = []
        self.off_at: float | None = None

    def press(self) -> None:
        if self.off_at is not None:
            raise ConnectionError("the guest is going away")
        self.presses.append(time.monotonic())
        if len(self.presses) >= self.listens_from:
            self.off_at = time.monotonic() + 0.05

    def gone(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if self.off_at is not None and time.monotonic() >= self.off_at:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)


def test_the_interval_is_upstreams() -> None:
    assert POWER_BUTTON_INTERVAL == 10.0


def test_a_guest_that_misses_the_first_presses_powers_off_on_a_later_one() -> None:
    guest = Guest(listens_from=3)
    started = time.monotonic()
    assert press_power_button(guest.press, guest.gone, 2.0, (ConnectionError,), interval=0.1)
    took = time.monotonic() - started
    assert len(guest.presses) == 3 and took < 1.0
    gaps = [b - a for a, b in zip(guest.presses, guest.presses[1:], strict=False)]
    assert all(0.09 <= gap < 0.5 for gap in gaps), gaps


def test_a_listening_guest_is_pressed_once() -> None:
    guest = Guest(listens_from=1)
    assert press_power_button(guest.press, guest.gone, 2.0, (ConnectionError,), interval=0.1)
    assert len(guest.presses) == 1


def test_a_guest_that_never_listens_is_given_up_after_the_timeout() -> None:
    guest = Guest(listens_from=1000)
    started = time.monotonic()
    assert not press_power_button(guest.press, guest.gone, 0.5, (ConnectionError,), interval=0.1)
    took = time.monotonic() - started
    assert 0.5 <= took < 0.8
    assert 4 <= len(guest.presses) <= 6  # at 0, 0.1, ... 0.4 s: none after the timeout


def test_a_press_failing_while_the_guest_goes_is_not_a_failure() -> None:
    guest = Guest(listens_from=1)
    guest.off_at = time.monotonic() + 0.25  # already on its way down: presses fail
    calls: list[float] = []

    def press() -> None:
        calls.append(time.monotonic())
        if len(calls) > 1:
            guest.press()

    assert press_power_button(press, guest.gone, 2.0, (ConnectionError,), interval=0.1)
    assert len(calls) >= 2


def test_the_first_press_failing_is_the_callers() -> None:
    def press() -> None:
        raise ConnectionError("no QMP")

    with pytest.raises(ConnectionError):
        press_power_button(press, lambda wait: False, 1.0, (ConnectionError,), interval=0.1)
