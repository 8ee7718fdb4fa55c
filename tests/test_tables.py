"""sgdmc's one-place tables against everything that spells them out again.

usage: test_tables.py SGDMC PRINT_TABLES SCHEMA_DOC FLAGS_DOC

- the run result's field table (src/core/result.c, printed by print_tables) against
  1. the documented HDF5 schema (SCHEMA_DOC's table "| where | type | meaning |"): every field's dataset
     with the type its kind writes, enum values numbered as in the table;
  2. the JSON object of `sgdmc train`: the same keys in the same order, the
     trajectory's in its own object;
  3. the fields the Python analysis package expects (analysis/fields.py), with
     matching kinds;
- the option table of `sgdmc train` against the documented flags table
  (FLAGS_DOC's table "| flag | default | meaning |"): the same flags in order, metavar,
  default and every choice; and its options that define nothing (neither the problem nor the
  R* estimate) against the analysis package's TRAINING_ONLY_KEYS, the keys R*'s upper bound is
  pooled across.
Each check fails when a field or flag is added, removed or renamed on one side.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analysis.fields import BOOKKEEPING, RUN_FIELDS, TRAJECTORY_FIELDS, VERDICT_MEANINGS  # noqa: E402
from analysis.fields import RISK_ROUNDING  # noqa: E402
from analysis.stats import TRAINING_ONLY_KEYS  # noqa: E402

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


# the HDF5 type each kind writes, as the schema documents it
SCHEMA_TYPE = {
    "f64": "float64 [tasks]", "i64": "int64 [tasks]", "verdict": "int8 [tasks]",
    "enum": "enum uint8 [tasks]", "layers": "int32 [tasks, max depth]",
    "trajectory_i64": "int64 [tasks, T]", "trajectory_f64": "float64 [tasks, T]",
}
ANALYSIS_KIND = {
    "f64": "float", "i64": "int", "verdict": "verdict", "enum": "enum", "layers": "layers",
    "trajectory_i64": "int", "trajectory_f64": "float",
}


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the markdown table whose header row is `header`."""
    lines = text.splitlines()
    if header not in lines:
        return []
    rows = []
    for line in lines[lines.index(header) + 1:]:
        if not line.startswith("|"):
            break
        if not set(line) <= set("|- "):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([c.strip().replace("\\|", "|") for c in cells])
    return rows

SCHEMA_HEADER = "| where | type | meaning |"
FLAGS_HEADER = "| flag | default | meaning |"


def dataset_path(field: dict) -> str:
    return ("trajectory/" if field["kind"].startswith("trajectory") else "") + field["name"]


def check_schema(fields: list[dict], doc: Path) -> None:
    documented: dict[str, tuple[str, str]] = {}
    for where, kind, meaning in (r[:3] for r in table_rows(doc.read_text(), SCHEMA_HEADER)
                                 if len(r) >= 3):
        if not where.startswith("`/runs/") or "<" in where:  # /runs/<grid key>
            continue
        prefix = ""
        for name in (n.strip().strip("`") for n in where.split(",")):
            if name.startswith("/runs/"):
                name = name[len("/runs/"):]
                prefix = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
            else:
                name = prefix + name
            documented[name] = (kind.replace("`", ""), meaning)
    expected = {dataset_path(f) for f in fields} | {"seed", "rank", "done"}
    check(set(documented) == expected,
          f"{doc.name}: documented datasets differ from the field table: "
          f"only documented {sorted(set(documented) - expected)}, "
          f"undocumented {sorted(expected - set(documented))}")
    for f in fields:
        entry = documented.get(dataset_path(f))
        if entry is None:
            continue
        check(entry[0] == SCHEMA_TYPE[f["kind"]],
              f"{doc.name}: /runs/{dataset_path(f)} documented as {entry[0]!r}, "
              f"written as {SCHEMA_TYPE[f['kind']]!r}")
        for value, name in enumerate(f["names"]):
            check(f"{name} = {value}" in entry[1],
                  f"{doc.name}: /runs/{f['name']} does not document {name} = {value}")


def check_json(fields: list[dict], sgdmc: str) -> None:
    out = subprocess.run([sgdmc, "train", "--steps=20", "--trajectory=3", "--width=2"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    scalar = [f["name"] for f in fields if not f["kind"].startswith("trajectory")]
    trajectory = [f["name"] for f in fields if f["kind"].startswith("trajectory")]
    check(list(report) == scalar + ["trajectory"],
          f"sgdmc train JSON keys {list(report)} != field table {scalar} + trajectory")
    check(list(report.get("trajectory", {})) == trajectory,
          f"sgdmc train trajectory keys {list(report.get('trajectory', {}))} != {trajectory}")


def check_analysis(fields: list[dict]) -> None:
    table = {f["name"]: ANALYSIS_KIND[f["kind"]] for f in fields
             if not f["kind"].startswith("trajectory")}
    check(RUN_FIELDS == table,
          f"analysis/fields.py RUN_FIELDS {RUN_FIELDS} != the field table {table}")
    meanings = {f["name"]: f["meaning"] for f in fields}
    for name, meaning in VERDICT_MEANINGS.items():
        check(meanings.get(name) == meaning,
              f"analysis/fields.py VERDICT_MEANINGS[{name!r}] {meaning!r} != the field "
              f"table's {meanings.get(name)!r}")
    traj = {f["name"]: ANALYSIS_KIND[f["kind"]] for f in fields
            if f["kind"].startswith("trajectory")}
    check(TRAJECTORY_FIELDS == traj,
          f"analysis/fields.py TRAJECTORY_FIELDS {TRAJECTORY_FIELDS} != {traj}")
    check(not set(BOOKKEEPING) & set(table), "a bookkeeping column is also a result field")


def check_flags(options: list[dict], doc: Path) -> None:
    rows = [r for r in table_rows(doc.read_text(), FLAGS_HEADER) if r and r[0].startswith("`--")]
    documented = []
    for flag, default, meaning in (r[:3] for r in rows):
        flag = flag.strip("`")[2:]
        name, _, metavar = flag.partition("=")
        documented.append((name, metavar, default.replace("`", ""), meaning))
    names = [o["name"] for o in options]
    check([d[0] for d in documented] == names,
          f"{doc.name}: flags {[d[0] for d in documented]} != option table {names}")
    for o, (name, metavar, default, meaning) in zip(options, documented):
        if o["name"] != name:
            continue
        check(metavar == o["metavar"], f"{doc.name}: --{name} metavar {metavar!r} != {o['metavar']!r}")
        check(default == o["default"].replace("`", ""),
              f"{doc.name}: --{name} default {default!r} != the table's {o['default']!r}")
        for choice in o["choices"]:
            check(choice in meaning, f"{doc.name}: --{name} does not list the choice {choice!r}")


def main() -> int:
    sgdmc, tables, schema_doc, flags_doc = sys.argv[1:5]
    fields = json.loads(subprocess.run([tables, "fields"], capture_output=True, text=True,
                                       check=True).stdout)
    options = json.loads(subprocess.run([tables, "options"], capture_output=True, text=True,
                                        check=True).stdout)
    check(len(fields) >= 20 and len(options) >= 30, "print_tables printed too little")
    for doc, header in ((schema_doc, SCHEMA_HEADER), (flags_doc, FLAGS_HEADER)):
        check(bool(table_rows(Path(doc).read_text(), header)), f"{doc}: no table {header!r}")
    check_schema(fields, Path(schema_doc))
    check_json(fields, sgdmc)
    check_analysis(fields)
    check_flags(options, Path(flags_doc))
    # the analysis package pools R*'s upper bound over the same keys as summarize --pool-hi
    defines_nothing = {o["name"] for o in options if o["defines"] == 0}
    check(defines_nothing == set(TRAINING_ONLY_KEYS),
          f"analysis/stats.py TRAINING_ONLY_KEYS differs from the option table's options that "
          f"define nothing: {sorted(defines_nothing ^ set(TRAINING_ONLY_KEYS))}")
    # the analysis package re-judges pooled verdicts with the same rounding allowance
    rounding = float(subprocess.run([tables, "rounding"], capture_output=True, text=True,
                                    check=True).stdout)
    check(rounding == RISK_ROUNDING, f"analysis/fields.py RISK_ROUNDING {RISK_ROUNDING} differs "
          f"from result.h's SGDMC_RISK_ROUNDING {rounding}")
    print(f"test_tables: {len(fields)} fields, {len(options)} options, "
          f"{'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
