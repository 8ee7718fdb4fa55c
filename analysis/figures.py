"""Regenerates the figures of docs/results.md: runs every jobs/*/quick.cfg with
`mpirun -n RANKS sgdmc study` and draws the plots the study is about
(plots.automatic), as small PNGs under docs/figures/, plus JOB.txt with the
per-cell table, the fitted rates and the numbers each figure shows. PNGs of the
job that are no longer drawn are removed."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .load import Study, load_study
from .plots import automatic, known_plot, save
from .report import numbers_text, rates_text, table_text
from .stats import cell_table, rate_table

REPO = Path(__file__).resolve().parent.parent
SIZE_LIMIT = 100_000  # bytes per PNG: committed figures stay small


def default_sgdmc() -> str:
    return os.environ.get("SGDMC", str(REPO / "build" / "sgdmc"))


def run_study(sgdmc: str, config: Path, output: Path, ranks: int) -> None:
    cmd = ["mpirun", "--oversubscribe", "-n", str(ranks), sgdmc, "study", str(config),
           f"--output={output}", "--quiet", "--force"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        # one line: sgdmc's own message, else the launcher's first words
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        said = next((line for line in lines if line.startswith("sgdmc")),
                    next((line for line in lines if not line.startswith("---")), ""))
        raise RuntimeError(f"{config.parent.name}: sgdmc study exited with {result.returncode}"
                           f"{': ' + said if said else ''}")


class FiguresUsageError(ValueError):
    """Flags of `figures` that select nothing or name what cannot serve: exit 2, as every
    other usage error of the package."""


def regenerate(out: Path, sgdmc: str, jobs: list[str] | None = None, ranks: int = 2,
               keep: Path | None = None, dpi: int = 100, config: str = "quick",
               study_file: Path | None = None) -> list[Path]:
    """Runs jobs/*/CONFIG.cfg (or reads study_file, for the one job selected) and writes
    its outputs, named JOB-PLOT.png and JOB.txt for quick.cfg, JOB-CONFIG-PLOT.png and
    JOB-CONFIG.txt for another config."""
    configs = sorted((REPO / "jobs").glob(f"*/{config}.cfg"))
    if jobs:
        configs = [c for c in configs if any(c.parent.name.startswith(j) for j in jobs)]
    if not configs:
        raise FiguresUsageError(f"--jobs {','.join(jobs or [])} --config {config}: no "
                           f"jobs/*/{config}.cfg matches")
    if study_file is not None and len(configs) != 1:
        raise FiguresUsageError(f"--study {study_file}: select one job with --jobs "
                           f"({len(configs)} match)")
    if study_file is None and not (os.path.isfile(sgdmc) and os.access(sgdmc, os.X_OK)):
        raise FiguresUsageError(f"--sgdmc {sgdmc}: not an executable file")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        studies = keep or Path(tmp)
        studies.mkdir(parents=True, exist_ok=True)
        for cfg in configs:
            job = cfg.parent.name
            stem = job if config == "quick" else f"{job}-{config}"
            results = study_file or studies / f"{stem}.h5"
            if study_file is None:
                print(f"{job}: running {cfg.relative_to(REPO)}", flush=True)
                run_study(sgdmc, cfg, results, ranks)
            study = load_study(str(results))
            if study_file is not None:
                require_config(study, cfg)
            # the file name in the text is the job's, not the temporary path
            study.path = f"jobs/{job}/{config}.cfg"
            written += write_outputs(study, out, stem, dpi)
    return written


def require_config(study: Study, cfg: Path) -> None:
    """The outputs are named and labelled after cfg: a study run from another config
    (another job, another size, an edited copy) is refused, naming the first line that
    differs."""
    ours, theirs = study.config_text.splitlines(), cfg.read_text().splitlines()
    if ours == theirs:
        return
    line = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                min(len(ours), len(theirs)))
    raise FiguresUsageError(f"--study {study.path}: was not run from {cfg.relative_to(REPO)} "
                       f"(its config differs at line {line + 1}); give --jobs and --config "
                       f"of the study it is")


def write_outputs(study: Study, out: Path, stem: str, dpi: int = 100) -> list[Path]:
    """STEM.txt (the table, the rates, each figure's numbers) and STEM-PLOT.png for every
    plot chosen for the study; STEM-PLOT.png of plots no longer chosen are removed."""
    table = cell_table(study)
    text = [table_text(study, table)]
    for x in ("width", "depth"):
        if x in study.grid_keys:
            text += [f"\nexponential rate of P(converged) in {x}:\n",
                     rates_text(rate_table(study, x, table))]
    names = automatic(study)
    for name in names:
        numbers = known_plot(name).numbers_frame(study)
        if numbers is not None:
            text += [f"\nnumbers of {stem}-{name}.png:\n",
                     numbers_text(numbers, study.grid_keys)]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.txt").write_text("".join(text))
    written = [out / f"{stem}.txt"]
    drawn = set()
    for name in names:
        fig = known_plot(name).draw(study)
        for path in save(fig, out, f"{stem}-{name}", ["png"], dpi, compact=True):
            size = path.stat().st_size
            flag = "  (over 100 KB)" if size > SIZE_LIMIT else ""
            print(f"  {path.name} {size // 1024} KB{flag}")
            written.append(path)
            drawn.add(path.name)
    # figures of plots no longer chosen would go stale; plot names have no hyphen, so
    # JOB-CONFIG-PLOT.png of another config is not one of JOB's
    for old in sorted(out.glob(f"{stem}-*.png")):
        if "-" not in old.name[len(stem) + 1:] and old.name not in drawn:
            old.unlink()
            print(f"  removed {old.name}")
    return written
