"""Print the reliability figures the runs left behind (``tests/reliability/figures.py``):
one section per kind of run, ``fuzz`` (schema fuzzing: ``tests/reliability/test_schema_fuzz.py``
or ``benchmarks/fuzz.py``), ``rbac`` (the RBAC matrix), and whatever other runs write
there in the same shape (chaos rounds, soak).

    python benchmarks/reliability_report.py            # a table
    python benchmarks/reliability_report.py --json     # every section as one JSON object
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.reliability import figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the sections as JSON")
    args = parser.parse_args()
    sections = figures.read_sections()
    if args.json:
        print(json.dumps(sections, indent=2))
        return
    if not sections:
        print(f"no figures in {figures.directory()} (run make test or benchmarks/fuzz.py)")
        return
    for name, section in sections.items():
        print(f"{section.get('title', name)}  [{name}, {section.get('updated', '?')}]")
        for key, value in section.get("figures", {}).items():
            if isinstance(value, dict):  # chaos rounds: one line each kind (service family)
                print(f"  {key:<40} {len(value)} kinds")
                for name, item in sorted(value.items()):
                    print(f"      {name:<44} {item}")
            elif isinstance(value, list):
                print(f"  {key:<40} {len(value)}")
                for item in value:
                    print(f"      {item}")
            else:
                print(f"  {key:<40} {value}")
        print()


if __name__ == "__main__":
    main()
