"""What the cloud's own clients trust when the APIs serve TLS.

With ``[DEFAULT] tls_cert_file`` every API listener serves https; the services then
call each other (the common Session, image and volume downloads, the dashboard's
proxy) through those https URLs. :func:`trust` makes the process (and the storage
worker processes it forks) trust the cloud's CA beside the public ones: it writes
``<state_dir>/ca-bundle.pem`` (certifi's roots, then the CA) and points
``SSL_CERT_FILE`` (httpx, OpenSSL's defaults) and ``REQUESTS_CA_BUNDLE`` at it.
"""

from __future__ import annotations

import os
from pathlib import Path

import certifi


def trust(state_dir: Path, ca_file: str) -> Path:
    """Trust ``ca_file`` in this process; returns the bundle written."""
    ca = Path(os.path.expanduser(ca_file)).read_text()
    bundle = state_dir / "ca-bundle.pem"
    tmp = bundle.with_suffix(".tmp")
    tmp.write_text(Path(certifi.where()).read_text().rstrip("\n") + "\n" + ca)
    os.replace(tmp, bundle)
    os.environ["SSL_CERT_FILE"] = str(bundle)
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    return bundle
