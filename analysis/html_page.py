"""One self-contained HTML page per study (python3 -m analysis report FILE.h5).

The page holds what a reader needs to judge a study without the file: what ran (the
config, the version, how many tasks are done), the per-cell table of `sgdmc summarize`,
the fitted rates with their intervals and notes, the figures the study is about, the
definitions of the verdicts, and the caveats that bound what the numbers say. Figures
are PNGs embedded as data: URLs and the style sheet is inline, so the page fetches
nothing and can be mailed or archived as one file.
"""
from __future__ import annotations

import base64
import html
import io

from . import report, stats
from .fields import VERDICT_MEANINGS
from .load import Study

STYLE = """
body { font-family: sans-serif; max-width: 1200px; margin: 1em auto; padding: 0 1em;
       color: #222; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 12px; }
img { max-width: 100%; border: 1px solid #ddd; }
figure { margin: 1.2em 0; }
figcaption { font-size: 14px; color: #444; }
dt { font-weight: bold; margin-top: 0.5em; }
.caveat { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.4em 0.8em; }
"""


def _png(study: Study, name: str, dpi: int) -> str:
    """The figure `name` as a base64 PNG."""
    import matplotlib.pyplot as plt

    from .plots import known_plot

    fig = known_plot(name).draw(study)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def caveats(study: Study) -> list[str]:
    """What bounds the numbers of this study, each a sentence backed by the file."""
    runs = study.runs
    out = []
    done = len(runs)
    if done < study.tasks:
        out.append(f"The file holds {done} of {study.tasks} tasks done: every count and "
                   "interval below is of the done runs only.")
    status = runs.get("status")
    if status is not None and (status == "undecided").any():
        undecided = int((status == "undecided").sum())
        out.append(f"{undecided} of {done} runs are undecided: their final risk lies between "
                   "the tolerance bands of R*'s proven lower bound and of its upper bound, so "
                   "P(converged) is a bracket [converged for sure, converged or undecided], "
                   "not a number.")
    source = runs.get("min_risk_source")
    if source is not None:
        shares = source.astype(str).value_counts()
        estimated = sum(int(shares.get(k, 0)) for k in ("estimated", "constructed", "computed"))
        if estimated:
            out.append(f"In {estimated} of {done} runs R*'s upper bound min_risk is the risk of "
                       "a network found by search, construction or the one-layer solver "
                       "(min_risk_source estimated, constructed or computed), not R* itself "
                       "unless R*'s proven lower bound meets it (x^2 at depth 1): the verdicts "
                       "stay proofs, but more runs fall between the bands (undecided) than with "
                       "R* exact, and risk_gap is an upper bound on the distance to R*.")
        given = int(shares.get("given", 0))
        if given:
            out.append(f"In {given} of {done} runs R* was given by the config (min_risk_source "
                       "given): their verdicts are as true as that value.")
            lo_source = runs.get("min_risk_lo_source")
            if lo_source is not None:
                refuted = int(((source == "given") & (lo_source != "given")).sum())
                if refuted:
                    out.append(f"{refuted} of those {given} runs ended below the given value, "
                               "which refutes it as R* (min_risk_lo_source is not given there): "
                               "they are judged on sgdmc's proven lower bound, but the other "
                               "runs of the same problem are still judged on the refuted value.")
        unknown = int(shares.get("unknown", 0))
        if unknown:
            out.append(f"In {unknown} of {done} runs R* is unknown: no convergence verdict "
                       "is possible there; judge those by the gradient norm.")
    exact = runs.get("risk_exact")
    if exact is not None:
        estimated = int((exact == False).sum())  # noqa: E712 (a nullable boolean column)
        if estimated:
            out.append(f"In {estimated} of {done} runs final_risk is a quadrature's estimate of "
                       "the population risk (risk_exact false: sin, normal inputs, smooth "
                       "activations or d >= 2): their verdicts and certificates are exact about "
                       "the quadrature's risk and only estimates about the population's.")
    end = runs.get("end_state")
    if end is not None:
        descending = int((end == "descending").sum())
        if descending:
            out.append(f"{descending} of {done} runs were still descending when the step "
                       "budget ended (end_state descending): their 'not converged' measures "
                       "the budget as much as the optimizer.")
    out.append("'not converged' is a statement about the final step of the budget; only "
               "certified_nonconvergent = 1 is a proof that no continuation of a run reaches "
               "R* within its tolerance.")
    out.append("Fitted exponential rates are fits, not evidence of exponential decay: each "
               "is shown with its 95% profile-likelihood interval and the notes of the fit; "
               "a rate resting on few cells with converged runs says little.")
    return out


def study_page(study: Study, grad_eps: float = 1e-3, pool_hi: bool = False,
               dpi: int = 90) -> str:
    """The whole page as a string."""
    from .plots import automatic, known_plot

    e = html.escape
    table = stats.cell_table(study, grad_eps=grad_eps, pool_hi=pool_hi)
    attrs = study.attrs
    version = attrs.get("sgdmc_version", "?")
    build = attrs.get("sgdmc_build")   # missing in files written before 0.4.0 recorded it
    libraries = attrs.get("numeric_libraries")   # missing before 0.4.0 recorded them
    created = attrs.get("created", "?")
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{e(study.name)}: sgdmc study report</title><style>{STYLE}</style>"
             f"</head><body>",
             f"<h1>{e(study.name)}</h1>",
             f"<p>File <code>{e(study.path)}</code>, written by sgdmc {e(str(version))}"
             f"{f' build {e(str(build))}' if build is not None else ''}"
             f"{f' with {e(str(libraries))}' if libraries is not None else ''} "
             f"(created {e(str(created))}): {len(study.runs)} of {study.tasks} tasks done, "
             f"{study.seeds} seeds per cell, grid keys "
             f"{e(', '.join(study.grid_keys) or 'none')}.</p>",
             "<h2>Caveats</h2><div class=\"caveat\"><ul>"]
    parts += [f"<li>{e(c)}</li>" for c in caveats(study)]
    parts.append("</ul></div>")

    pooled = "; R*'s upper bound pooled per problem (--pool-hi)" if pool_hi else ""
    parts.append("<h2>Per-cell table</h2><p>As <code>sgdmc summarize</code> prints it "
                 "(95% Clopper-Pearson intervals; p_converged a bracket where runs are "
                 f"undecided; p_stationary: min_grad_norm &lt;= {grad_eps:g}{e(pooled)}).</p>")
    parts.append(f"<pre>{e(report.table_text(study, table))}</pre>")

    numeric = [k for k in ("width", "depth") if k in study.grid_keys
               and study.runs[k].nunique() > 1]
    if numeric:
        parts.append("<h2>Fitted rates of P(converged)</h2><p>Maximum-likelihood fits of "
                     "P(converged) = exp(a - r x) on each curve's binomial counts, with the "
                     "95% profile-likelihood interval of r and the fit's notes.</p>")
        for key in numeric:
            parts.append(f"<h3>against {e(key)}</h3><pre>"
                         f"{e(report.rates_text(stats.rate_table(study, key, table)))}</pre>")

    names = automatic(study) if not study.runs.empty else []
    parts.append("<h2>Figures</h2>")
    if not names:
        parts.append("<p>No figures: the file has no done runs.</p>")
    for name in names:
        plot = known_plot(name)
        parts.append(f"<figure><img alt=\"{e(name)}\" src=\"data:image/png;base64,"
                     f"{_png(study, name, dpi)}\"><figcaption><b>{e(name)}</b>: "
                     f"{e(plot.what)}</figcaption></figure>")

    parts.append("<h2>Verdicts</h2><dl>")
    for field, meaning in VERDICT_MEANINGS.items():
        parts.append(f"<dt>{e(field)}</dt><dd>{e(meaning)}</dd>")
    parts.append("</dl>")

    parts.append("<h2>Config</h2><pre>" + e(study.config_text) + "</pre>")
    shares = _status_shares(study)
    if shares:
        parts.append(f"<p>Statuses of the done runs: {e(shares)}.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _status_shares(study: Study) -> str:
    status = study.runs.get("status")
    if status is None or status.empty:
        return ""
    counts = status.astype(str).value_counts()
    total = int(counts.sum())
    return ", ".join(f"{name} {int(n)} ({100 * int(n) / total:.1f}%)"
                     for name, n in counts.items() if int(n) > 0)
