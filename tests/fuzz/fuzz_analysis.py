#!/usr/bin/python3
"""A seeded fuzzer of the analysis command line (python3 -m analysis).

Usage: fuzz_analysis.py SGDMC SEED COUNT

Mutates valid command lines of `plot`, `table`, `rates`, `report` and `figures` (flags
dropped, duplicated, misspelt, bad values, NaN, huge numbers) against good and bad
files (a study, a study without a grid or trajectory, a half-done one, not HDF5,
truncated, empty, a directory, missing, an HDF5 file that is no study, one with
damaged datasets). The cases run in this process through analysis.cli.main, so
that matplotlib loads once; each must return 0, 1 or 2 without an exception
escaping, and a return of 1 or 2 must come with exactly one line on stderr.
`figures` cases never get to rerun the studies: they are given an sgdmc that
does not exist. Prints the counts per command and outcome; exit 1 when any case
broke a rule.
"""
import contextlib
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis.cli import main as analysis_main  # noqa: E402
from fuzz_report import exit_rule, record, report  # noqa: E402
from fuzz_sgdmc import misspell  # noqa: E402

VALUES = ["", "0", "-1", "1", "nan", "inf", "-inf", "1e308", "abc", "png", "jpg", "pdf,svg",
          "png,", ",", "all", "width", "optimizer", "seed", "nonsense", "convergence_width",
          "text", "csv", "json", "xml", "2400", "2401", "99999999999999999999", "1.5", "x" * 3000,
          "risk_trajectory,convergence_width", "@out"]


def make_files(tmp: Path, sgdmc: str) -> dict[str, str]:
    def study(name: str, text: str, extra: list[str] | None = None) -> str:
        config = tmp / f"{name}.cfg"
        config.write_text(text)
        path = tmp / f"{name}.h5"
        subprocess.run([sgdmc, "study", str(config), f"--output={path}", "--progress=none",
                        *(extra or [])], capture_output=True, check=False)
        return str(path)

    files = {
        "study": study("grid", 'name = "grid";\nseeds = 3;\ngrid = { width = [1, 2, 3]; '
                       'optimizer = ["sgd", "adam"]; };\ntrain = { steps = 40; };\n'
                       'output = { trajectory = 4; };\n'),
        "flat": study("flat", 'name = "flat";\nseeds = 4;\ntrain = { steps = 20; '
                      'target = "constant:1.0"; };\n'),
    }
    half = tmp / "half.h5"
    shutil.copy(files["study"], half)
    with h5py.File(half, "r+") as f:
        f["runs/done"][::2] = 0
    files["half"] = str(half)
    damaged = tmp / "damaged.h5"
    shutil.copy(files["study"], damaged)
    with h5py.File(damaged, "r+") as f:
        del f["runs/status"]
        f.attrs["seeds"] = 7
    files["damaged"] = str(damaged)
    with h5py.File(tmp / "other.h5", "w") as f:
        f["x"] = np.arange(3.0)
    files["other"] = str(tmp / "other.h5")
    (tmp / "text.h5").write_text("hello\n")
    files["text"] = str(tmp / "text.h5")
    (tmp / "empty.h5").write_bytes(b"")
    files["empty"] = str(tmp / "empty.h5")
    raw = Path(files["study"]).read_bytes()
    (tmp / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    files["truncated"] = str(tmp / "truncated.h5")
    (tmp / "folder.h5").mkdir()
    files["folder"] = str(tmp / "folder.h5")
    files["missing"] = str(tmp / "missing.h5")
    return files


BASES = [
    ["plot", "@study", "--out", "@out", "--format", "png", "--dpi", "30"],
    ["plot", "@study", "--out", "@out", "--format", "png", "--dpi", "30", "--plots", "all"],
    ["@flat", "--out", "@out", "--format", "svg", "--x", "width"],
    ["table", "@study", "--format", "csv"],
    ["table", "@half", "--format", "json", "--grad_eps", "0.01"],
    ["rates", "@study", "--x", "width"],
    ["rates", "@study", "--x", "width", "--format", "json"],
    ["report", "@half", "--out", "@out.html", "--grad_eps", "0.01"],
    ["figures", "--jobs", "000", "--sgdmc", "@missing", "--out", "@out"],
]
FLAGS = ["--out", "--format", "--plots", "--x", "--dpi", "--grad_eps", "--jobs", "--sgdmc",
         "--ranks", "--keep", "-h"]
FILES = ["study", "flat", "half", "damaged", "other", "text", "empty", "truncated", "folder",
         "missing"]


def mutate(base: list[str], rng: random.Random) -> list[str]:
    args = list(base)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        if op == 0 and args:
            args.pop(rng.randrange(len(args)))
        elif op == 1 and args:
            args.insert(rng.randrange(len(args) + 1), rng.choice(args))
        elif op == 2 and args:
            i = rng.randrange(len(args))
            args[i] = misspell(args[i], rng)
        elif op == 3 and args:
            i = rng.randrange(len(args))
            args[i] = rng.choice(VALUES)
        elif op == 4:
            args += [rng.choice(FLAGS), rng.choice(VALUES)]
        elif op == 5:
            files = [i for i, a in enumerate(args) if a.startswith("@") and a != "@out"]
            if files:
                args[rng.choice(files)] = "@" + rng.choice(FILES)
        else:
            args.append(rng.choice(FLAGS))
    return args


def run(argv: list[str]) -> tuple[int | None, str, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = analysis_main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1 if exit_.code else 0
        except Exception:  # noqa: BLE001 - an escaping exception is what we look for
            return None, err.getvalue(), traceback.format_exc()
        finally:
            matplotlib.pyplot.close("all")
    return code, err.getvalue(), ""


def main() -> int:
    sgdmc, seed, count = os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    os.environ["SGDMC"] = "/nonexistent/sgdmc"  # figures' default sgdmc
    tally: Counter[tuple[str, str]] = Counter()
    broken = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = make_files(tmp, sgdmc)
        # a mutation can turn a flag's value into a relative --out: keep what it writes here
        os.chdir(tmp)
        for case in range(count):
            out = tmp / f"out{case}"
            argv = mutate(rng.choice(BASES), rng)
            if "figures" in argv:
                # never rerun the real studies or write into docs/figures
                argv += ["--sgdmc", "@missing", "--out", "@out"]
            argv = [a.replace("@out", str(out)) for a in argv]
            for kind in sorted(files, key=len, reverse=True):
                argv = [a.replace("@" + kind, files[kind]) for a in argv]
            command = next((a for a in argv if a in ("plot", "table", "rates", "report", "figures")),
                           "plot")
            code, stderr, trace = run(argv)
            outcome, problem = ("exception", trace[-1500:]) if code is None \
                else exit_rule(code, stderr)
            record(tally, broken, command, argv, outcome, problem)
            shutil.rmtree(out, ignore_errors=True)
            for page in tmp.glob(f"out{case}.html*"):
                page.unlink()
    return report("fuzz_analysis", seed, count, tally, broken, "python3 -m analysis ")


if __name__ == "__main__":
    sys.exit(main())
