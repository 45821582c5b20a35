"""Load metadata definition files at bootstrap (as ``glance-manage db_load_metadefs``).

The files are Glance's definition format (one namespace per JSON file, with its
resource type associations, properties, objects and tags). They come from
``[image] metadefs_dir`` when set, else from the ``glance`` distribution when it is
installed (its wheel installs them as data files under ``etc/glance/metadefs``;
``pip install --no-deps glance`` is enough, nothing of it is imported). A namespace
that exists already is left alone, so loading is idempotent; a broken file is
logged and skipped. The standard resource types are always created.
"""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

from sqlalchemy.orm import Session

from tinystack.common.exceptions import Conflict, TinystackError
from tinystack.image.services import metadef_namespaces, metadef_resource_types
from tinystack.image.services.deps import Deps

LOG = logging.getLogger(__name__)
DISTRIBUTION = "glance"


def definition_files(configured: Path | None) -> list[Path]:
    """The definition files to load: the configured directory's, else the installed ones."""
    if configured is not None:
        return sorted(configured.glob("*.json")) if configured.is_dir() else []
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return []
    found = [
        Path(str(f.locate()))
        for f in files
        if f.suffix == ".json" and "/".join(f.parts[-4:-1]).endswith("etc/glance/metadefs")
    ]
    return sorted(p for p in found if p.is_file())


def load(deps: Deps) -> list[str]:
    """Create the standard resource types and every namespace not loaded yet."""
    deps.db.write(metadef_resource_types.ensure_standard)
    files = definition_files(deps.opts.metadefs_dir)
    if not files:
        LOG.info(
            "no metadata definition files found (set [image] metadefs_dir or install the "
            "'glance' distribution for upstream's definitions)"
        )
    loaded = []
    for path in files:
        try:
            spec = metadef_namespaces.parse(json.loads(path.read_text()))
        except (OSError, ValueError, TinystackError) as exc:
            LOG.warning("metadata definition file %s skipped: %s", path, exc)
            continue

        def txn(session: Session, spec: metadef_namespaces.NamespaceSpec = spec) -> None:
            metadef_namespaces.insert(session, spec, owner=spec.owner)

        try:
            deps.db.write(txn)
        except Conflict:
            continue
        loaded.append(spec.namespace)
    if loaded:
        LOG.info("loaded %d metadata definition namespaces", len(loaded))
    return loaded
