#!/usr/bin/python3
"""A seeded fuzzer of sgdmc's command lines and study configs.

Usage: fuzz_sgdmc.py SGDMC SEED COUNT

Mutates valid command lines of `sgdmc train`, `sgdmc reference`, `sgdmc summarize`
and `sgdmc study`, and valid study configs: flags dropped, duplicated or misspelt,
values out of range, of the wrong type, NaN, infinities, huge sizes, empty, very
long; bad files (missing, a directory, not HDF5, truncated, empty, the wrong
datasets, NaN data). Every case runs as one process (studies with
--progress=none, steps and seeds capped) and must end within its timeout with
exit 0, 1 or 2; exits 1 and 2 print exactly one line on stderr; never a signal,
a hang or a sanitizer report. Prints the counts per command and outcome; exit 1
when any case broke a rule (each printed with its command line). FUZZ_SHOW=train
(or study, ...) prints every case of that command with its stderr.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import h5py
import numpy as np

from fuzz_report import exit_rule, record, report

STEPS_CAP = 60
SEEDS_CAP = 3
TIMEOUT = 180.0

# ---- inputs ------------------------------------------------------------------


def make_files(tmp: Path, sgdmc: str) -> dict[str, str]:
    """Good and bad files for every flag that takes one."""
    files = {}
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (40, 1))
    with h5py.File(tmp / "data.h5", "w") as f:
        f["x"], f["y"] = x, x ** 2
    files["data"] = str(tmp / "data.h5")
    with h5py.File(tmp / "labels.h5", "w") as f:
        f["x"], f["y"] = x, np.where(x > 0.5, 1.0, -1.0)
    files["labels"] = str(tmp / "labels.h5")
    with h5py.File(tmp / "nan_data.h5", "w") as f:
        f["x"], f["y"] = np.where(x > 0.9, np.nan, x), x
    files["nan_data"] = str(tmp / "nan_data.h5")
    with h5py.File(tmp / "wrong_data.h5", "w") as f:
        f["x"] = rng.uniform(0, 1, (4, 3, 2))
        f["z"] = [1.0, 2.0]
    files["wrong_data"] = str(tmp / "wrong_data.h5")
    with h5py.File(tmp / "string_data.h5", "w") as f:
        f["x"] = np.array([b"a", b"b"])
        f["y"] = np.array([b"c", b"d"])
    files["string_data"] = str(tmp / "string_data.h5")
    subprocess.run([sgdmc, "train", "--width=4", "--depth=2", "--steps=5", "--min_risk=1",
                    f"--save={tmp / 'params.h5'}"], check=True, capture_output=True)
    files["params"] = str(tmp / "params.h5")
    (tmp / "text.h5").write_text("not an HDF5 file\n")
    files["text"] = str(tmp / "text.h5")
    (tmp / "empty.h5").write_bytes(b"")
    files["empty"] = str(tmp / "empty.h5")
    raw = (tmp / "params.h5").read_bytes()
    (tmp / "truncated.h5").write_bytes(raw[: len(raw) // 3])
    files["truncated"] = str(tmp / "truncated.h5")
    (tmp / "folder.h5").mkdir()
    files["folder"] = str(tmp / "folder.h5")
    files["missing"] = str(tmp / "missing.h5")
    config = tmp / "results.cfg"
    config.write_text('name = "results";\nseeds = 2;\ngrid = { width = [2, 3]; };\n'
                      'train = { steps = 20; min_risk = 1.0; };\noutput = { trajectory = 3; };\n')
    subprocess.run([sgdmc, "study", str(config), f"--output={tmp / 'results.h5'}",
                    "--progress=none"], check=True, capture_output=True)
    files["results"] = str(tmp / "results.h5")
    raw = (tmp / "results.h5").read_bytes()
    (tmp / "results_truncated.h5").write_bytes(raw[: len(raw) // 2])
    files["results_truncated"] = str(tmp / "results_truncated.h5")
    return files


# ---- mutations ---------------------------------------------------------------

WEIRD_VALUES = ["", "-1", "0", "1", "-0", "0.5", "1e308", "-1e308", "1e-320", "nan", "NaN",
                "inf", "-inf", "+inf", "1e999", "abc", "1.5", "2147483648", "-2147483649",
                "9223372036854775808", "100000", "1000000", "0x10", " 1", "1 ", "true",
                "false", "ÿ", "x" * 5000, "power:", "power:0.5,", "power:nan", "constant:",
                "constant:1e400", "constant:nan", "1,2,3", "0,0", "-1,2", "7" * 30]

TRAIN_BASE = [
    ["--width=4", "--depth=2", "--steps=50", "--optimizer=adam"],
    ["--width=3", "--target=sin", "--steps=40", "--lr=0.05", "--lr_schedule=power:0.5"],
    ["--width=2", "--depth=3", "--skip", "--init=he", "--steps=30", "--trajectory=4"],
    ["--data=@data", "--batch_size=0", "--width=3", "--steps=30", "--optimizer=rmsprop"],
    ["--data=@labels", "--loss=logistic", "--l2=0.01", "--activation=tanh", "--steps=30"],
    ["--target=teacher", "--teacher_width=2", "--width=3", "--steps=30", "--gram_points=8"],
    ["--init=@params", "--width=4", "--depth=2", "--steps=20", "--optimizer=lion",
     "--timescale=single", "--tau=5"],
    ["--input=normal", "--input_dim=3", "--width=5", "--steps=30", "--optimizer=nadam",
     "--beta2=0.99", "--eps=1e-6"],
    ["--target=constant:1.5", "--width=2", "--steps=40", "--optimizer=clipped_sgd",
     "--clip=0.5", "--rtol=0", "--tol=1e-3"],
    ["--widths=3,2", "--depth=2", "--steps=30", "--rstar_starts=2", "--rstar_iterations=20",
     "--optimizer=momentum", "--momentum=0.8", "--weight_decay=0.01"],
]
TRAIN_FLAGS = ["input_dim", "depth", "width", "widths", "activation", "skip", "init",
               "init_scale", "seed", "input", "target", "teacher_width", "teacher_depth",
               "teacher_seed", "data", "batch_size", "loss", "l2", "optimizer", "lr",
               "lr_schedule", "momentum", "beta1", "beta2", "eps", "weight_decay", "clip",
               "timescale", "tau", "steps", "tol", "rtol", "min_risk", "rstar_starts",
               "rstar_iterations", "trajectory", "checkpoints", "eval_points", "gram_points",
               "blowup", "save"]
FILE_KINDS = ["data", "labels", "nan_data", "wrong_data", "string_data", "params", "text",
              "empty", "truncated", "folder", "missing", "results"]


# valid values, so that a share of the cases runs and reaches the code past the checks
VALID = {"width": ["1", "2", "5", "8"], "depth": ["1", "2", "3"], "optimizer": [
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "amsgrad", "nadam",
    "signsgd", "normalized_sgd", "clipped_sgd", "lion"], "activation": [
    "relu", "tanh", "sigmoid", "softplus"], "init": ["uniform", "normal", "he", "glorot"],
    "lr": ["0.001", "0.1", "3"], "batch_size": ["1", "7", "64"], "target": [
    "square", "sin", "constant:-2", "teacher"], "seed": ["0", "5", "123456789"],
    "trajectory": ["0", "2", "9"], "checkpoints": ["1", "3", "20"], "l2": ["0", "0.1"],
    "skip": ["true", "false"], "gram_points": ["0", "1", "16"], "input": ["uniform", "normal"],
    "blowup": ["1", "1e3"], "lr_schedule": ["constant", "power:1", "power:0.5,10"]}


def misspell(name: str, rng: random.Random) -> str:
    if len(name) < 2:
        return name + "x"
    i = rng.randrange(len(name))
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1:]
    if kind == 1:
        return name[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz_") + name[i:]
    j = min(i + 1, len(name) - 1)
    chars = list(name)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def value_for(rng: random.Random, files: dict[str, str]) -> str:
    if rng.random() < 0.25:
        return "@" + rng.choice(FILE_KINDS)
    return rng.choice(WEIRD_VALUES)


def mutate_args(base: list[str], flags: list[str], rng: random.Random,
                files: dict[str, str]) -> list[str]:
    args = list(base)
    if rng.random() < 0.35:  # valid changes only
        for _ in range(rng.randint(1, 3)):
            flag = rng.choice(sorted(VALID))
            if flag in flags:
                args = [a for a in args if a.partition("=")[0] != f"--{flag}"]
                args.append(f"--{flag}={rng.choice(VALID[flag])}")
        return args
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        if op == 0 and args:                                   # drop a flag
            args.pop(rng.randrange(len(args)))
        elif op == 1 and args:                                 # duplicate one
            args.append(rng.choice(args))
        elif op == 2 and args:                                 # misspell a name
            i = rng.randrange(len(args))
            name, eq, value = args[i][2:].partition("=")
            args[i] = "--" + misspell(name, rng) + eq + value
        elif op in (3, 4) and args:                            # a bad value
            i = rng.randrange(len(args))
            name = args[i][2:].partition("=")[0]
            args[i] = f"--{name}={value_for(rng, files)}"
        elif op == 5:                                          # another flag, any value
            args.append(f"--{rng.choice(flags)}={value_for(rng, files)}")
        else:                                                  # form: space, bare, junk
            form = rng.randrange(4)
            if form == 0 and args:
                i = rng.randrange(len(args))
                name, _, value = args[i].partition("=")
                args[i:i + 1] = [name, value] if value else [name]
            elif form == 1:
                args.append(rng.choice(["-", "--", "---x", "positional", "-h5", "--=1"]))
            elif form == 2 and args:
                args.insert(rng.randrange(len(args)), rng.choice(args).upper())
            else:
                args.append(f"--{rng.choice(flags)}")
    return args


def resolve(args: list[str], files: dict[str, str]) -> list[str]:
    out = []
    for a in args:
        for kind, path in sorted(files.items(), key=lambda kv: -len(kv[0])):
            a = a.replace("@" + kind, path)
        out.append(a)
    return out


def cap_train(args: list[str]) -> list[str]:
    """Bounded work: at most STEPS_CAP steps, R* estimates kept small."""
    out = []
    for a in args:
        name, eq, value = a.partition("=")
        if name == "--steps" and eq:
            try:
                if float(value) > STEPS_CAP:
                    a = f"--steps={STEPS_CAP}"
            except ValueError:
                pass
        if name in ("--rstar_starts", "--rstar_iterations") and eq:
            try:
                if float(value) > 20:
                    a = f"{name}=20"
            except ValueError:
                pass
        out.append(a)
    if not any(a.partition("=")[0] == "--steps" for a in out):
        out.append(f"--steps={STEPS_CAP}")
    return out


STUDY_BASE = [
    'name = "fz";\nseeds = 2;\ngrid = { width = [2, 3]; optimizer = ["sgd", "adam"]; };\n'
    'train = { steps = 30; depth = 2; };\noutput = { trajectory = 3; };\n',
    'name = "fz";\nseeds = 3;\ntrain = { target = "constant:1.5"; steps = 40; lr = 0.1; '
    'tol = 1e-3; rtol = 0.0; };\n',
    'name = "fz";\nseeds = 2;\ngrid = { lr = [0.01, 0.1]; };\n'
    'train = { data = "@data"; batch_size = 0; steps = 20; };\n',
    'name = "fz";\nseeds = 2;\ngrid = { optimizer = ["sgd", "signsgd"]; timescale = '
    '["single", "two"]; };\ntrain = { tau = 5.0; momentum = 0.9; steps = 20; };\n',
]
CONFIG_VALUES = ["0", "-1", "1.5", "1", "\"x\"", "\"\"", "[]", "[1, \"a\"]", "[0.01, 1]",
                 "true", "nan", "1e999", "2147483648", "2147483648L", "{ }", "( 1 )",
                 "\"@missing\"", "\"@folder\"", "\"@text\"", "\"@truncated\"", "[2, 2]",
                 "\"power:0.5\"", "100000", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]"]


def config_value(flag: str, value: str) -> str:
    numeric = value.replace(".", "", 1).replace("e", "", 1).replace("-", "").isdigit()
    if value in ("true", "false"):
        return value
    return value if numeric else f'"{value}"'


def valid_config_change(text: str, rng: random.Random) -> str:
    """Sets a train key to a valid value inside the config's train group."""
    flag = rng.choice(sorted(VALID))
    value = config_value(flag, rng.choice(VALID[flag]))
    if flag in ("lr", "l2", "blowup") and "." not in value and "e" not in value:
        value += ".0"
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("train = {"):
            body = line[len("train = {"):].rsplit("}", 1)[0]
            items = [item.strip() for item in body.split(";") if item.strip()]
            items = [item for item in items if item.partition("=")[0].strip() != flag]
            if f"{flag} =" in text.replace(line, ""):
                return text  # a grid key: leave it to the grid
            items.append(f"{flag} = {value}")
            lines[i] = "train = { " + "; ".join(items) + "; };"
            return "\n".join(lines) + "\n"
    return text


def mutate_config(text: str, rng: random.Random) -> str:
    if rng.random() < 0.4:
        for _ in range(rng.randint(1, 3)):
            text = valid_config_change(text, rng)
        return text
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randrange(len(lines))
        if op == 0:
            lines.pop(i)
            if not lines:
                lines = [""]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = misspell(lines[i], rng)
        elif op == 3:  # a key's value replaced
            line = lines[i]
            if "=" in line:
                key, _, rest = line.partition("=")
                lines[i] = f"{key}= {rng.choice(CONFIG_VALUES)};" + ("" if rest.rstrip().endswith(
                    ";") else "")
        elif op == 4:  # another train or grid key
            section = rng.choice(["train", "grid"])
            value = rng.choice(CONFIG_VALUES)
            key = rng.choice(TRAIN_FLAGS + ["seed", "seeds", "status", "nonsense"])
            if section == "grid" and not value.startswith("["):
                value = f"[{value}]"
            lines.append(f"{section} = {{ {key} = {value}; }};")
        else:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines) + "\n"


def cap_config(text: str) -> str:
    """At most SEEDS_CAP seeds and STEPS_CAP steps in the train group."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("seeds") and "=" in stripped:
            try:
                value = int(stripped.split("=", 1)[1].strip().rstrip(";").rstrip("L"))
                if value > SEEDS_CAP:
                    line = f"seeds = {SEEDS_CAP};"
            except ValueError:
                pass
        out.append(line.replace("steps = 100000", f"steps = {STEPS_CAP}"))
    return "\n".join(out) + "\n"


# ---- running -----------------------------------------------------------------

def run_case(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[str, str]:
    """(outcome, problem): problem is "" when the case kept every rule."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                timeout=TIMEOUT, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        return "timeout", f"no exit within {TIMEOUT:.0f} s"
    code = result.returncode
    if os.environ.get("FUZZ_SHOW") and os.environ["FUZZ_SHOW"] in cmd[1]:
        print(f"[{code}] {' '.join(c[:80] for c in cmd[2:])}\n    {result.stderr[:300]!r}")
    if "Sanitizer" in result.stderr or "runtime error:" in result.stderr:
        return "sanitizer", result.stderr[-2000:]
    if code < 0:
        return f"signal {-code}", result.stderr[-2000:]
    return exit_rule(code, result.stderr)


def main() -> int:
    sgdmc, seed, count = os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    env = dict(os.environ)
    # a huge allocation must come back NULL (and be reported), not abort
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=0") + \
        ":allocator_may_return_null=1"
    tally: Counter[tuple[str, str]] = Counter()
    broken = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = make_files(tmp, sgdmc)
        shares = [("train", 0.5), ("study", 0.25), ("summarize", 0.125), ("reference", 0.125)]
        for case in range(count):
            pick, acc = rng.random(), 0.0
            command = shares[-1][0]
            for name, share in shares:
                acc += share
                if pick < acc:
                    command = name
                    break
            work = tmp / f"case{case}"
            work.mkdir()
            if command == "train":
                args = cap_train(resolve(mutate_args(rng.choice(TRAIN_BASE), TRAIN_FLAGS, rng,
                                                     files), files))
                args = [a if not a.startswith("--save") else f"--save={work / 'out.h5'}"
                        for a in args]
                cmd = [sgdmc, "train", *args]
            elif command == "reference":
                base = ["--widths=0,1,2", rng.choice(["--target=square", "--target=sin",
                                                      "--target=teacher"])]
                args = resolve(mutate_args(base, TRAIN_FLAGS + ["widths", "format"], rng, files),
                               files)
                cmd = [sgdmc, "reference", *[a.replace("--widths=100000", "--widths=40")
                                             for a in args]]
            elif command == "summarize":
                base = ["@results", rng.choice(["--format=table", "--format=csv",
                                                "--format=json", "--at-step=10",
                                                "--grad_eps=0.01"])]
                args = mutate_args(base, ["format", "grad_eps", "at-step"], rng, files)
                if rng.random() < 0.3:
                    args[0:1] = ["@" + rng.choice(FILE_KINDS + ["results_truncated"])]
                cmd = [sgdmc, "summarize", *resolve(args, files)]
            else:
                text = cap_config(resolve([mutate_config(rng.choice(STUDY_BASE), rng)],
                                          files)[0])
                config = work / "study.cfg"
                config.write_text(text)
                flags = [f"--output={work / 'out.h5'}", "--progress=none"]
                if rng.random() < 0.5:
                    flags = mutate_args(flags, ["output", "resume", "force", "dry-run",
                                                "progress", "quiet", "print-default"], rng, files)
                flags = [f if not f.startswith("--output") or "out.h5" in f
                         else f"--output={work / 'other.h5'}" for f in resolve(flags, files)]
                cmd = [sgdmc, "study", str(config), *flags]
            record(tally, broken, command, cmd, *run_case(cmd, env, work))
            shutil.rmtree(work, ignore_errors=True)
    return report("fuzz_sgdmc", seed, count, tally, broken, "")


if __name__ == "__main__":
    sys.exit(main())
