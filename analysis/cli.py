"""python3 -m analysis: figures, the per-cell table and fitted rates of a study file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMMANDS = ("plot", "table", "rates", "figures")

DESCRIPTION = """\
Analyse an sgdmc study file (complete or half-done: only rows marked done count).

  python3 -m analysis [plot] [--out DIR] [--format png,pdf] [--plots NAME,...] FILE.h5
  python3 -m analysis table FILE.h5 [--format text|csv|json] [--grad_eps E]
  python3 -m analysis rates FILE.h5 [--x width|depth|KEY] [--format text|csv|json]
  python3 -m analysis figures [--jobs 000,001] [--out docs/figures] [--sgdmc PATH]

plot (the default command) draws every figure the file's grid supports; `table`
prints the per-cell table of `sgdmc summarize` (same counts and intervals);
`rates` the fitted exponential rate of P(converged); `figures` reruns every
jobs/*/quick.cfg and writes the README's PNGs. `python3 -m analysis COMMAND -h`
for each command's options."""


def _plot_names() -> str:
    from .plots import PLOTS
    return "\n".join(f"  {p.name:18} {p.what}" for p in PLOTS.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m analysis", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plot = sub.add_parser("plot", help="draw the figures (the default command)",
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="plots:\n" + _plot_names() + "\n\nA plot the file cannot "
                          "make (say, no width in the grid) is skipped with a line saying why; "
                          "asking for it by --plots makes the exit status 1.")
    plot.add_argument("file", metavar="FILE.h5")
    plot.add_argument("--out", type=Path, help="output folder (default: FILE_figures next to "
                      "the current folder, named after the file)")
    plot.add_argument("--format", default="png,pdf", help="comma-separated: png, pdf, svg "
                      "(default png,pdf)")
    plot.add_argument("--plots", help="comma-separated plot names (default: every plot the "
                      "file supports)")
    plot.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")

    table = sub.add_parser("table", help="per-cell table, as sgdmc summarize")
    table.add_argument("file", metavar="FILE.h5")
    table.add_argument("--format", choices=("text", "csv", "json"), default="text")
    table.add_argument("--grad_eps", type=float, default=1e-3,
                       help="p_stationary threshold on min_grad_norm (default 1e-3)")

    rates = sub.add_parser("rates", help="fitted exponential rate of P(converged)",
                           description="Maximum-likelihood fit of P(converged) = exp(a - r x) "
                           "on the binomial counts of each curve (the other grid keys fixed), "
                           "with the 95%% profile-likelihood interval of r.")
    rates.add_argument("file", metavar="FILE.h5")
    rates.add_argument("--x", default="width", help="grid key to fit against (default width)")
    rates.add_argument("--format", choices=("text", "csv", "json"), default="text")

    figures = sub.add_parser("figures", help="rerun jobs/*/quick.cfg, write README figures")
    figures.add_argument("--out", type=Path, default=None,
                         help="output folder (default: docs/figures in the repository)")
    figures.add_argument("--jobs", help="comma-separated prefixes of jobs/ folders "
                         "(default: every folder with a quick.cfg)")
    figures.add_argument("--sgdmc", help="the sgdmc binary (default: $SGDMC, else build/sgdmc)")
    figures.add_argument("--ranks", type=int, default=2, help="mpirun -n (default 2)")
    figures.add_argument("--keep", type=Path, help="keep the study files in this folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "plot")
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    # imported here so that --help works without loading matplotlib
    from .load import load_study
    from . import report, stats

    if args.command == "figures":
        from .figures import REPO, default_sgdmc, regenerate
        out = args.out or REPO / "docs" / "figures"
        jobs = args.jobs.split(",") if args.jobs else None
        try:
            for path in regenerate(out, args.sgdmc or default_sgdmc(), jobs, args.ranks,
                                   args.keep):
                print(path)
        except RuntimeError as error:
            print(f"analysis figures: {error}", file=sys.stderr)
            return 1
        return 0

    if not Path(args.file).is_file():
        print(f"analysis: {args.file}: no such file", file=sys.stderr)
        return 2
    if args.command == "table":
        study = load_study(args.file, trajectory=False)
        table = stats.cell_table(study, grad_eps=args.grad_eps)
        text = {"text": lambda: report.table_text(study, table),
                "csv": lambda: report.table_csv(study, table),
                "json": lambda: report.table_json(study, table, args.grad_eps) + "\n"}
        sys.stdout.write(text[args.format]())
        return 0
    if args.command == "rates":
        study = load_study(args.file, trajectory=False)
        if args.x not in study.grid_keys:
            print(f"analysis rates: {args.x} is not a grid key of {args.file} "
                  f"({', '.join(study.grid_keys) or 'none'})", file=sys.stderr)
            return 2
        rates = stats.rate_table(study, args.x)
        text = {"text": lambda: report.rates_text(rates),
                "csv": lambda: rates.to_csv(index=False),
                "json": lambda: report.rates_json(rates) + "\n"}
        sys.stdout.write(text[args.format]())
        return 0

    from .plots import PLOTS, save
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    wanted = args.plots.split(",") if args.plots else list(PLOTS)
    unknown = [name for name in wanted if name not in PLOTS]
    if unknown:
        print(f"analysis: unknown plot {', '.join(unknown)}; plots:\n{_plot_names()}",
              file=sys.stderr)
        return 2
    # the trajectory frame has tasks x T rows: only read it when it is drawn
    study = load_study(args.file, trajectory="risk_trajectory" in wanted)
    out = args.out or Path(Path(args.file).stem + "_figures")
    status = 0
    for name in wanted:
        why = PLOTS[name].missing(study)
        if why:
            print(f"skipped {name}: {why}", file=sys.stderr)
            status = 1 if args.plots else status
            continue
        for path in save(PLOTS[name].draw(study), out, name, formats, args.dpi):
            print(path)
    return status
