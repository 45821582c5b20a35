"""Streaming inspection of image data, and the verdict on it against ``disk_format``.

The parsers are oslo.utils' format inspectors (the ones upstream Glance uses):
every known format's inspector is fed each chunk while the data streams in,
holding only the few header regions it needs. :func:`verdict` then decides, as
a pure function of the recorded :class:`Inspection`, whether the content is
acceptable for the image's ``disk_format`` and what its virtual size is.

Rules (upstream's, a little stricter for ``raw``):
- only ``bare`` container images are inspected;
- a qcow2 whose header points at a backing file or an external data file, a
  VMDK whose descriptor references other files, and similar unsafe content is
  always refused;
- the detected format must equal ``disk_format``; ``raw`` accepts unrecognised
  data and raw disks that carry an MBR/GPT or an ISO 9660 filesystem;
  non-inspectable formats (ami, aki, ari, ploop) accept unrecognised data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from oslo_utils.imageutils import format_inspector as fi

from tinystack.image.exception import InvalidImageData

LOG = logging.getLogger(__name__)

#: largest piece of data given to an inspector at once
PIECE = 64 * 1024
#: formats a raw disk may legitimately look like
RAW_COMPATIBLE = frozenset({"gpt", "iso"})


class InspectionData(TypedDict):
    """An :class:`Inspection` as the staged data's JSON column keeps it."""

    formats: list[str]
    size: int
    virtual_sizes: dict[str, int]
    failures: dict[str, str]


@dataclass(frozen=True)
class Inspection:
    """What the inspectors learnt about a complete stream of data."""

    #: formats whose signature matched, never empty ("raw" when nothing did)
    formats: tuple[str, ...]
    size: int
    virtual_sizes: dict[str, int] = field(default_factory=dict)
    #: format -> why it is unsafe (failed safety checks or broken structure)
    failures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> InspectionData:
        return {
            "formats": list(self.formats),
            "size": self.size,
            "virtual_sizes": dict(self.virtual_sizes),
            "failures": dict(self.failures),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Inspection:
        """Read back :meth:`to_dict` (from the JSON column, hence checked as it is read)."""
        formats = data.get("formats")
        size = data.get("size", 0)
        virtual_sizes = data.get("virtual_sizes")
        failures = data.get("failures")
        return cls(
            formats=tuple(str(f) for f in formats)
            if isinstance(formats, list) and formats
            else ("raw",),
            size=int(size) if isinstance(size, int | float | str) else 0,
            virtual_sizes=(
                {str(k): int(v) for k, v in virtual_sizes.items()}
                if isinstance(virtual_sizes, dict)
                else {}
            ),
            failures=(
                {str(k): str(v) for k, v in failures.items()} if isinstance(failures, dict) else {}
            ),
        )


class StreamInspector:
    """Feed with :meth:`feed` chunk by chunk, then call :meth:`finish` once."""

    def __init__(self) -> None:
        self._inspectors = {name: cls() for name, cls in fi.ALL_FORMATS.items() if name != "raw"}
        #: inspectors still wanting data (a complete one has all it needs, as in
        #: upstream's ``from_file``; one watching the end of the data never completes)
        self._active = dict(self._inspectors)
        self._broken: dict[str, str] = {}
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        # Inspectors find some regions only on the read after the one completing the
        # region that points at them, so they get the data in small pieces.
        for start in range(0, len(chunk), PIECE):
            if not self._active:
                return
            piece = chunk[start : start + PIECE] if len(chunk) > PIECE else chunk
            for name, inspector in list(self._active.items()):
                try:
                    inspector.eat_chunk(piece)
                except Exception as exc:  # a parser giving up means "not this format"
                    self._broken[name] = str(exc) or type(exc).__name__
                    del self._active[name]
                    continue
                if inspector.complete:
                    del self._active[name]

    def finish(self) -> Inspection:
        matched: list[str] = []
        virtual_sizes: dict[str, int] = {}
        failures: dict[str, str] = {}
        for name, inspector in self._inspectors.items():
            inspector.finish()
            if not _matches(inspector):
                continue
            matched.append(name)
            if name in self._broken:
                failures[name] = f"the {name} structure is invalid: {self._broken[name]}"
                continue
            failure = _safety_failure(inspector)
            if failure:
                failures[name] = failure
            virtual_sizes[name] = _virtual_size(inspector)
        if not matched:
            matched = ["raw"]
            virtual_sizes["raw"] = self._size
        return Inspection(tuple(sorted(matched)), self._size, virtual_sizes, failures)


def _matches(inspector: fi.FileInspector) -> bool:
    try:
        return bool(inspector.format_match)
    except Exception:
        return False


def _virtual_size(inspector: fi.FileInspector) -> int:
    try:
        return int(inspector.virtual_size)
    except Exception:
        return 0


def _safety_failure(inspector: fi.FileInspector) -> str:
    try:
        inspector.safety_check()
    except fi.SafetyCheckFailed as exc:
        return "; ".join(f"{name}: {err}" for name, err in sorted(exc.failures.items()))
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return ""


def verdict(
    inspection: Inspection,
    disk_format: str | None,
    container_format: str | None,
    *,
    require_match: bool = True,
) -> int | None:
    """The virtual size to record, or raise :class:`InvalidImageData`."""
    if container_format != "bare":
        return None
    detected = _detected_format(inspection)
    failure = inspection.failures.get(detected)
    if failure:
        raise InvalidImageData(f"Image data failed safety checks ({detected}): {failure}")
    if detected == disk_format:
        return inspection.virtual_sizes.get(detected) or None
    inspectable = disk_format in fi.ALL_FORMATS
    if detected == "raw" and not inspectable:
        return None
    if disk_format == "raw" and detected in RAW_COMPATIBLE:
        return inspection.size
    message = f"Image disk_format {disk_format} does not match the data, which is {detected}."
    if require_match:
        raise InvalidImageData(message)
    LOG.warning("%s", message)
    return None


def detected_format(inspection: Inspection) -> str:
    """The one format the data is in (raise :class:`InvalidImageData` when ambiguous)."""
    return _detected_format(inspection)


def _detected_format(inspection: Inspection) -> str:
    formats = set(inspection.formats)
    if formats == {"iso", "gpt"}:
        # bootable ISOs legitimately carry a partition table in front
        return "iso"
    if len(formats) > 1:
        raise InvalidImageData(
            "Image data matches several formats (" + ", ".join(sorted(formats)) + ")."
        )
    return next(iter(formats))
