"""python3 -m analysis: figures, the per-cell table and fitted rates of a study file."""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

COMMANDS = ("plot", "table", "rates", "report", "figures")
FORMATS = ("png", "pdf", "svg")
DPI_RANGE = (1, 2400)


class _Once(argparse.Action):
    """A flag's value; the same flag twice is an error (argparse keeps the last silently), as
    on sgdmc's command line."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        given: set[str] = namespace.__dict__.setdefault("_given", set())
        if self.dest in given:
            parser.error(f"{option_string}: given twice")
        given.add(self.dest)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


class _Parser(argparse.ArgumentParser):
    """argparse's errors as one line: what is wrong, and where help is; every flag once."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} -h)\n")

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        if names and str(names[0]).startswith("-"):
            if kwargs.get("action") == "store_true":
                kwargs.update(action=_Once, nargs=0, default=kwargs.get("default", False))
            elif "action" not in kwargs:
                kwargs["action"] = _Once
        return super().add_argument(*names, **kwargs)


def _fail(command: str, message: str) -> int:
    print(f"analysis {command}: {message}", file=sys.stderr)
    return 2

DESCRIPTION = """\
Analyse an sgdmc study file (complete or half-done: only rows marked done count).

  python3 -m analysis [plot] FILE.h5 [--out DIR] [--format png,pdf] [--plots NAME,...|all] [--x KEY]
  python3 -m analysis table FILE.h5 [--format text|csv|json] [--grad_eps E]
  python3 -m analysis rates FILE.h5 [--x width|depth|KEY] [--format text|csv|json]
  python3 -m analysis report FILE.h5 [--out PAGE.html] [--grad_eps E] [--pool-hi]
  python3 -m analysis figures [--jobs 000,001] [--out docs/figures] [--sgdmc PATH] [--config quick]
                              [--ranks N] [--keep DIR] [--study FILE.h5]

plot (the default command) draws the figures that show what the study is about
(chosen by its grid and config; --plots all: every figure the file supports); `table`
prints the per-cell table of `sgdmc summarize` (same counts and intervals);
`rates` the fitted exponential rate of P(converged); `report` writes one
self-contained HTML page (figures, tables, config, verdicts, caveats); `figures` reruns every
jobs/*/quick.cfg and writes the figures of docs/results.md. `python3 -m analysis COMMAND -h`
for each command's options."""


def _plot_names() -> str:
    from .plots import PLOTS
    return "\n".join(f"  {p.name:25} {p.what}" for p in PLOTS.values()) + \
        "\n  convergence_KEY           P(converged) against any grid key KEY (also --x KEY)" \
        "\n  objective_spread_KEY      the final objective's spread against grid key KEY"


def _add_cell_table_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of the per-cell table, for `table` and `report`, which prints it."""
    parser.add_argument("--grad_eps", type=float, default=1e-3,
                        help="p_stationary threshold on min_grad_norm (default 1e-3)")
    parser.add_argument("--pool-hi", action="store_true",
                        help="tighten R*'s upper bound of each cell to the lowest final risk of "
                        "any run of the same problem and architecture, as sgdmc summarize "
                        "--pool-hi does (min_risk_used, min_risk_pooled)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python3 -m analysis", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plot = sub.add_parser("plot", help="draw the figures (the default command)",
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="plots:\n" + _plot_names() + "\n\nWithout --plots and --x: "
                          "the plots the study is about, by its grid and config (l2: "
                          "convergence_l2, objective_spread_l2; skip: convergence_skip; else "
                          "width, depth: convergence_width/depth; gram_points set: gram_min_eig, "
                          "gram_bounds; R* unknown in every run: min_grad_norm, "
                          "min_grad_norm_trajectory; else risk_trajectory, risk_gap_cdf). "
                          "--plots all: every plot above the file can make. A plot the file "
                          "cannot make (say, no width in the grid) is skipped with a line "
                          "saying why; asking for it by name (--plots, --x) is an error "
                          "(exit 2) before anything is drawn.")
    plot.add_argument("file", metavar="FILE.h5")
    plot.add_argument("--out", type=Path, help="output folder (default: FILE_figures next to "
                      "the current folder, named after the file)")
    plot.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg "
                      "(default png,pdf)")
    plot.add_argument("--plots", help="comma-separated plot names, or all (default: the plots "
                      "the study is about)")
    plot.add_argument("--x", metavar="KEY[,KEY]", help="draw P(converged) against these grid "
                      "keys (plots convergence_KEY), besides --plots")
    plot.add_argument("--dpi", type=int, default=100,
                      help=f"PNG resolution, {DPI_RANGE[0]} to {DPI_RANGE[1]} (default 100)")

    table = sub.add_parser("table", help="per-cell table, as sgdmc summarize")
    table.add_argument("file", metavar="FILE.h5")
    table.add_argument("--format", choices=("text", "csv", "json"), default="text")
    _add_cell_table_flags(table)

    rates = sub.add_parser("rates", help="fitted exponential rate of P(converged)",
                           description="Maximum-likelihood fit of P(converged) = exp(a - r x) "
                           "on the binomial counts of each curve (the other grid keys fixed), "
                           "with the 95%% profile-likelihood interval of r.")
    rates.add_argument("file", metavar="FILE.h5")
    rates.add_argument("--x", default="width", help="grid key to fit against (default width)")
    rates.add_argument("--format", choices=("text", "csv", "json"), default="text")

    page = sub.add_parser("report", help="one self-contained HTML page of the study",
                          description="One HTML file with everything embedded (fetches "
                          "nothing): the caveats, the per-cell table, the fitted rates against "
                          "width and depth, the figures the study is about, the verdicts' "
                          "definitions and the config.")
    page.add_argument("file", metavar="FILE.h5")
    page.add_argument("--out", type=Path, help="the page (default: FILE.html in the current "
                      "folder, named after the file)")
    _add_cell_table_flags(page)

    figures = sub.add_parser("figures", help="rerun jobs/*/quick.cfg, write the docs/figures of docs/results.md")
    figures.add_argument("--out", type=Path, default=None,
                         help="output folder (default: docs/figures in the repository)")
    figures.add_argument("--jobs", help="comma-separated prefixes of jobs/ folders "
                         "(default: every folder with a quick.cfg)")
    figures.add_argument("--sgdmc", help="the sgdmc binary (default: $SGDMC, else build/sgdmc)")
    figures.add_argument("--ranks", type=int, default=2, help="mpirun -n (default 2)")
    figures.add_argument("--keep", type=Path, help="keep the study files in this folder")
    figures.add_argument("--config", default="quick", help="run jobs/*/CONFIG.cfg (default "
                         "quick); another config's outputs are named JOB-CONFIG-PLOT.png, "
                         "JOB-CONFIG.txt")
    figures.add_argument("--study", type=Path, help="draw from this study file of the one "
                         "job selected instead of running it")
    return parser


def _is_page(path: Path) -> bool:
    """A regular file that starts as the pages `report` writes do."""
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as stream:
        return stream.read(15).lower() == b"<!doctype html>"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "plot")
    args = _parser().parse_args(argv)
    if args.command is None:
        print("python3 -m analysis: give a command or a FILE.h5 (see python3 -m analysis -h)",
              file=sys.stderr)
        return 2
    # imported here so that --help works without loading matplotlib
    from .load import StudyFileError
    try:
        return _run(args)
    except StudyFileError as error:
        return _fail(args.command, str(error))
    except OSError as error:
        # an output that cannot be written (a full disk, a read-only or missing folder, a
        # file where a folder should be): one line naming it, not a traceback
        where = f"{error.filename}: " if error.filename else ""
        print(f"analysis {args.command}: {where}{error.strerror or error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from .load import load_study
    from . import report, stats

    if args.command == "figures":
        from .figures import REPO, FiguresUsageError, default_sgdmc, regenerate
        if args.ranks < 1:
            return _fail("figures", f"--ranks {args.ranks}: must be at least 1")
        out = args.out or REPO / "docs" / "figures"
        jobs = args.jobs.split(",") if args.jobs else None
        try:
            if args.study is not None and not args.study.is_file():
                return _fail("figures", f"--study {args.study}: no such file")
            for path in regenerate(out, args.sgdmc or default_sgdmc(), jobs, args.ranks,
                                   args.keep, config=args.config, study_file=args.study):
                print(path)
        except FiguresUsageError as error:
            return _fail("figures", str(error))
        except RuntimeError as error:
            print(f"analysis figures: {error}", file=sys.stderr)
            return 1
        return 0

    if args.command in ("table", "report") and not (math.isfinite(args.grad_eps)
                                                    and args.grad_eps >= 0):
        return _fail(args.command, f"--grad_eps {args.grad_eps}: must be a finite number >= 0")
    if args.command == "table":
        study = load_study(args.file, trajectory=False)
        table = stats.cell_table(study, grad_eps=args.grad_eps, pool_hi=args.pool_hi)
        text = {"text": lambda: report.table_text(study, table),
                "csv": lambda: report.table_csv(study, table),
                "json": lambda: report.table_json(study, table, args.grad_eps) + "\n"}
        sys.stdout.write(text[args.format]())
        sys.stdout.flush()  # a full disk fails here, with one line, not at exit
        return 0
    if args.command == "report":
        out = args.out or Path(Path(args.file).stem + ".html")
        if out.is_dir():
            return _fail("report", f"--out {out}: is a folder; give the page's file name")
        if not out.parent.resolve().is_dir():
            return _fail("report", f"--out {out}: the folder {out.parent} does not exist")
        if out.exists() and out.resolve() == Path(args.file).resolve():
            return _fail("report", f"--out {out}: is the study file itself, which the page "
                         "would replace")
        if os.path.lexists(out) and not _is_page(out):
            return _fail("report", f"--out {out}: exists and is not an HTML page (no "
                         "<!DOCTYPE html> at its start; or not a regular file), which the page "
                         "would replace; remove it or give another path")
        from .html_page import study_page
        page = study_page(load_study(args.file, trajectory=True), args.grad_eps, args.pool_hi)
        # written whole or not at all: a failed write leaves no half page
        partial = out.with_name(out.name + ".partial")
        try:
            # a leftover .partial is removed and the new one made exclusively: a link there
            # is never followed
            partial.unlink(missing_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(page)
            partial.replace(out)
        except OSError as error:
            try:
                partial.unlink(missing_ok=True)
            except OSError:
                pass  # a folder there, say: the message below names the first failure
            print(f"analysis report: --out {out}: {error.strerror or error}", file=sys.stderr)
            return 1
        print(out)
        return 0
    if args.command == "rates":
        study = load_study(args.file, trajectory=False)
        numeric = [k for k in study.grid_keys if study.cells[k].dtype.kind in "iuf"]
        if args.x not in numeric:
            what = "a grid key" if args.x not in study.grid_keys else "a numeric grid key"
            return _fail("rates", f"--x {args.x}: not {what} of {args.file} (numeric grid keys: "
                         f"{', '.join(numeric) or 'none'})")
        rates = stats.rate_table(study, args.x)
        text = {"text": lambda: report.rates_text(rates),
                "csv": lambda: rates.to_csv(index=False),
                "json": lambda: report.rates_json(rates) + "\n"}
        sys.stdout.write(text[args.format]())
        sys.stdout.flush()  # a full disk fails here, with one line, not at exit
        return 0

    from .plots import PLOTS, automatic, known_plot, plot_named, save
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    wrong = [f for f in formats if f not in FORMATS]
    if wrong or not formats:
        return _fail("plot", f"--format {args.format}: choose from {', '.join(FORMATS)} "
                     "(comma-separated)")
    if not DPI_RANGE[0] <= args.dpi <= DPI_RANGE[1]:
        return _fail("plot", f"--dpi {args.dpi}: must be from {DPI_RANGE[0]} to {DPI_RANGE[1]}")
    asked = [n.strip() for n in args.plots.split(",") if n.strip()] if args.plots else []
    every = asked == ["all"]
    keys = [k.strip() for k in args.x.split(",") if k.strip()] if args.x else []
    chosen = not asked and not keys  # the automatic selection
    wanted = list(PLOTS) if every else asked
    wanted += [f"convergence_{k}" for k in keys if f"convergence_{k}" not in wanted]
    unknown = [name for name in wanted if plot_named(name) is None]
    if unknown:
        return _fail("plot", f"unknown plot {', '.join(unknown)} (python3 -m analysis plot -h "
                     "lists them)")
    # the trajectory frame has tasks x T rows: only read it when it may be drawn
    # (every name in wanted is known from here on)
    study = load_study(args.file, trajectory=chosen or any(known_plot(n).trajectory
                                                            for n in wanted))
    if chosen and study.runs.empty:
        print(f"analysis: no done runs in {args.file}: nothing to plot", file=sys.stderr)
        return 0
    others: list[str] = []
    if chosen:
        wanted = automatic(study)
        others = [name for name, plot in PLOTS.items()
                  if name not in wanted and plot.missing(study) is None]
    # plots asked for by name must all be possible: one line names those that are not,
    # before anything is drawn; with "all" (or none asked) the impossible ones are skipped
    if asked and not every or keys:
        missing = [f"{name} ({why})" for name in wanted
                   if (why := known_plot(name).missing(study))]
        if missing:
            return _fail("plot", f"cannot draw {'; '.join(missing)} from {args.file}")
    out = args.out or Path(Path(args.file).stem + "_figures")
    out.mkdir(parents=True, exist_ok=True)  # before any other line: an OSError is the only one
    if others:
        print(f"also possible: {', '.join(others)} (--plots NAME,... or --plots all)",
              file=sys.stderr)
    for name in wanted:
        plot = known_plot(name)
        why = plot.missing(study)
        if why:
            print(f"skipped {name}: {why}", file=sys.stderr)
            continue
        for path in save(plot.draw(study), out, name, formats, args.dpi):
            print(path)
    return 0
