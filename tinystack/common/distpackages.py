"""Python bindings that come only with the distribution (Debian's ``python3-rados``,
``python3-rbd``, ``python3-libvirt``), loaded into a virtualenv that does not see the
system's ``dist-packages``.

:func:`module` imports a module as installed, or else loads just that module (an
extension built for this interpreter, or a plain ``.py`` file) from ``dist-packages``;
nothing else of ``dist-packages`` is put on the path.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

#: where Debian installs the bindings
SYSTEM_DIRS = (Path("/usr/lib/python3/dist-packages"),)


class BindingsUnavailable(ImportError):
    """The bindings are not installed (or not for this Python)."""


Loader = importlib.machinery.SourceFileLoader | importlib.machinery.ExtensionFileLoader


def _exec(name: str, path: Path, loader: Loader) -> ModuleType | None:
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        return None
    found = importlib.util.module_from_spec(spec)
    sys.modules[name] = found
    try:
        loader.exec_module(found)
    except BaseException:
        del sys.modules[name]
        raise
    return found


def load(name: str, package: str) -> ModuleType:
    """Module ``name`` from the system's ``dist-packages`` (``package``: the Debian package
    to name when it is missing)."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    for directory in SYSTEM_DIRS:
        extension, source = directory / f"{name}{suffix}", directory / f"{name}.py"
        if extension.exists():
            loaded = _exec(
                name, extension, importlib.machinery.ExtensionFileLoader(name, str(extension))
            )
        elif source.exists():
            loaded = _exec(name, source, importlib.machinery.SourceFileLoader(name, str(source)))
        else:
            continue
        if loaded is not None:
            return loaded
    raise BindingsUnavailable(f"{package} is not installed for this Python ({suffix})")


def module(name: str, package: str) -> ModuleType:
    """``name`` as installed, else from the system's ``dist-packages``."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return load(name, package)
