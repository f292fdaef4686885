"""Print the errata registry: for each printed statement of the seed papers, whether it holds as
printed, the counterexample when it does not, and the corrected statement that does hold.

  ltbounds errata            a table
  ltbounds errata --json     a JSON list of objects with keys id, source, verdict,
                             counterexample, corrected_by, explanation
  ltbounds errata --id ID    one entry in full (ID: a statement id from the table)
"""

from __future__ import annotations

import argparse
import json
import textwrap

from ltbounds.checks import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--id", dest="statement_id", help="print one entry in full (default: the table of all)")
    parser.add_argument("--verdict", help="only entries with this verdict (holds, false_as_printed, ...; default: all)")


def run(args: argparse.Namespace) -> int:
    from ltbounds import errata

    records = errata.as_records()
    if args.verdict:
        if args.verdict not in errata.VERDICTS:
            raise InputError(f"--verdict must be one of {', '.join(errata.VERDICTS)}, got {args.verdict!r}")
        records = [r for r in records if r["verdict"] == args.verdict]
    if args.statement_id:
        records = [r for r in records if r["id"] == args.statement_id]
        if not records:
            raise InputError(
                f"--id {args.statement_id!r} is not in the registry; known ids: {', '.join(errata.REGISTRY)}"
            )
    if args.json:
        keys = ("id", "source", "verdict", "counterexample", "corrected_by", "explanation")
        print(json.dumps([{key: r[key] for key in keys} for r in records], indent=2))
        return 0
    if args.statement_id:
        record = records[0]
        for key in ("id", "source", "verdict", "corrected_by", "printed", "explanation"):
            print(f"{key}:")
            print(textwrap.indent(textwrap.fill(str(record[key]), 96), "  "))
        if record["counterexample"] is not None:
            print("counterexample:")
            print(textwrap.indent(json.dumps(record["counterexample"], indent=1), "  "))
        return 0
    import pandas as pd

    table = pd.DataFrame(records, columns=["id", "verdict", "corrected_by", "source"])
    table["corrected_by"] = table["corrected_by"].fillna("")
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    print(f"\n{len(records)} statement(s). 'ltbounds errata --id ID' shows one in full.")
    return 0
