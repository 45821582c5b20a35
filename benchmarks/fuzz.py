"""Schema fuzzing of a cloud, the long run of ``tests/reliability/test_schema_fuzz.py``.

Loads every service's ``/openapi.json`` from the catalog of the cloud named by the
credentials, and drives every operation with schemathesis: ``--examples`` positive and
``--examples`` negative examples per operation (as the user of the credentials, and, with
``--member-cloud``, positive ones as a second user), bounded by ``--minutes``. Checks
each answer (no 5xx, a documented or upstream status, the service's error body shape)
and the state after (negative examples changed no collection, every listed item shows),
prints the findings and writes the ``fuzz`` section of
``benchmarks/reliability_report.py``. Only loopback endpoints are fuzzed.

    python benchmarks/fuzz.py --os-cloud tinystack-admin --member-cloud tinystack-demo \\
        --examples 25 --minutes 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _harness import add_auth_args, creds_from_args, issue_token

from tests.reliability import figures, fuzzing


def service_roots(catalog: list[dict[str, object]]) -> dict[str, str]:
    """service type -> the root (scheme, host, port) of its public endpoint."""
    roots = {}
    for entry in catalog:
        for endpoint in entry.get("endpoints", []):  # type: ignore[attr-defined]
            if endpoint.get("interface") == "public":
                parts = urlsplit(str(endpoint["url"]))
                if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                    raise SystemExit(f"refusing to fuzz a non-loopback endpoint: {endpoint['url']}")
                roots[str(entry["type"])] = f"{parts.scheme}://{parts.netloc}"
    return roots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_auth_args(parser)
    parser.add_argument("--member-cloud", help="a second (member) user's clouds.yaml entry")
    parser.add_argument("--examples", type=int, default=25, help="examples per operation and mode")
    parser.add_argument("--minutes", type=float, default=30.0, help="time bound of the whole run")
    parser.add_argument("--only", action="append", help="service types to fuzz (default: all)")
    args = parser.parse_args()
    token, body = issue_token(creds_from_args(args))
    roots = service_roots(body["token"]["catalog"])
    member = None
    if args.member_cloud:
        member_args = argparse.Namespace(**{**vars(args), "os_cloud": args.member_cloud})
        member, _ = issue_token(creds_from_args(member_args))
    deadline = time.monotonic() + args.minutes * 60
    totals = fuzzing.Stats()
    started = time.monotonic()
    for kind, root in sorted(roots.items()):
        if args.only and kind not in args.only:
            continue
        document = httpx.get(f"{root}/openapi.json", timeout=60)
        if document.status_code != 200:
            print(f"{kind}: no /openapi.json ({document.status_code}), skipped")
            continue
        client = httpx.Client(headers={"X-Auth-Token": token}, timeout=60)
        stats = fuzzing.fuzz_service(
            root, token, max_examples=args.examples, deadline=deadline, modes=(False,)
        )
        operations = stats.operations
        before = fuzzing.snapshot(root, client, document.json())
        stats.add(
            fuzzing.fuzz_service(
                root, token, max_examples=args.examples, deadline=deadline, modes=(True,)
            )
        )
        after = fuzzing.snapshot(root, client, document.json())
        if member:
            stats.add(
                fuzzing.fuzz_service(
                    root, member, max_examples=args.examples, deadline=deadline, modes=(False,)
                )
            )
        stats.operations = operations  # each mode walked the same operations
        problems = fuzzing.consistency_problems(root, client, document.json())
        problems += [f"negative examples changed {p}" for p in before if before[p] != after.get(p)]
        client.close()
        print(f"{kind}: {stats.examples} examples, {stats.server_errors} 5xx, "
              f"{len(stats.findings)} findings, {len(problems)} state problems")  # fmt: skip
        for line in [str(f) for f in stats.findings] + problems:
            print(f"  {line}")
        totals.add(stats)
    seconds = time.monotonic() - started
    path = figures.write_section(
        "fuzz",
        f"Schema fuzzing (benchmarks/fuzz.py, {args.examples} examples per operation and mode)",
        {
            "services": len(args.only or roots),
            "operations fuzzed": totals.operations,
            "examples run": totals.examples,
            "5xx found": totals.server_errors,
            "findings": len(totals.findings),
            "operations not reached in time": len(totals.skipped),
            "seconds": round(seconds, 1),
        },
    )
    print(f"{totals.examples} examples in {seconds:.0f}s; figures in {path}")
    sys.exit(1 if totals.findings else 0)


if __name__ == "__main__":
    main()
