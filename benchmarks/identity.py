"""Identity benchmark: password token issue, token validate and project list at c=1, 4, 16.

    python benchmarks/identity.py --os-cloud tinystack-admin            # uses OS_CLIENT_CONFIG_FILE
    python benchmarks/identity.py --auth-url http://127.0.0.1:5000/v3 --username admin \
        --password ... --project-name admin                              # any Keystone
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Client, Result, add_auth_args, auth_body, creds_from_args, issue_token, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_auth_args(parser)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound per run")
    parser.add_argument("--requests", type=int, default=5000, help="request bound per run")
    parser.add_argument("--issue-requests", type=int, default=60)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    creds = creds_from_args(args)
    token, _ = issue_token(creds)
    subject, _ = issue_token(creds)
    levels = [int(c) for c in args.concurrency.split(",")]
    results: list[Result] = []

    def issue() -> Callable[[], int]:
        client, body = Client(creds.auth_url), auth_body(creds)
        return lambda: client.request("POST", "/auth/tokens", body=body)[0]

    def validate() -> Callable[[], int]:
        client = Client(creds.auth_url)
        headers = {"X-Auth-Token": token, "X-Subject-Token": subject}
        return lambda: client.request("GET", "/auth/tokens", headers=headers)[0]

    def projects() -> Callable[[], int]:
        client = Client(creds.auth_url)
        return lambda: client.request("GET", "/projects", headers={"X-Auth-Token": token})[0]

    for c in levels:
        results.append(
            run("token issue (password)", c, issue, args.issue_requests, args.seconds, ok=(201,))
        )
        print(results[-1].line(), flush=True)
    for c in levels:
        results.append(run("token validate", c, validate, args.requests, args.seconds))
        print(results[-1].line(), flush=True)
    for c in levels:
        results.append(run("GET /v3/projects", c, projects, args.requests, args.seconds))
        print(results[-1].line(), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in results], indent=2))


if __name__ == "__main__":
    main()
