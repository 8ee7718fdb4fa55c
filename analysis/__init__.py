"""Offline analysis of sgdmc study files: a pandas loader, the per-cell table of
`sgdmc summarize` with Clopper-Pearson intervals, fitted exponential rates of
P(converged), and the figures. Command line: python3 -m analysis --help."""
from .load import Study, load_study
from .stats import RateFit, cell_table, clopper_pearson, fit_exponential_rate, rate_table

__all__ = ["Study", "load_study", "RateFit", "cell_table", "clopper_pearson",
           "fit_exponential_rate", "rate_table"]
