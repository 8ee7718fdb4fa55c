/* `sgdmc summarize`: one line (or JSON object) per grid cell of a study's
 * results file, seeds pooled: how many runs are done, converged and
 * diverged, the probability of convergence with its exact 95% interval, the
 * share of runs with a dead first-layer neuron at initialization and the
 * median final risk.
 *
 * The file is read serially (no MPI needed) with HDF5 file locking off, so
 * it can be summarized while a study is still writing it or after one
 * stopped half-way: only rows with done = 1 count. */
#ifndef SGDMC_SUMMARIZE_H
#define SGDMC_SUMMARIZE_H

#include <stddef.h>
#include <stdio.h>

typedef enum { SGDMC_SUMMARY_TABLE, SGDMC_SUMMARY_CSV, SGDMC_SUMMARY_JSON } sgdmc_summary_format;

/* "table", "csv", "json", NULL: indexed by sgdmc_summary_format. */
extern const char *const sgdmc_summary_format_names[];

/* 0 and *format set, or -1 when `text` names no format. */
int sgdmc_summary_format_parse(const char *text, sgdmc_summary_format *format);

/* Prints the summary of the results file at `path` to `out`.
 *
 * table: a title line, a header, one aligned row per cell, p as
 *        "0.734 [0.705, 0.761]"; "-" where there is nothing to report.
 * csv:   a header line, then one line per cell, grid keys first; strings
 *        quoted only when they need it; numbers round-trip (the shortest
 *        %g that reads back to the same double); an empty field for NaN.
 * json:  {"file", "tasks", "seeds", "grid_keys": [...], "cells": [{...}]},
 *        one cell per line; null for NaN and infinity.
 *
 * median_final_risk treats a NaN final risk (a diverged run) as +infinity,
 * so the median is +inf (csv, table: "inf"; json: null) when at least
 * half of the done runs of a cell have no finite final risk.
 *
 * -1 with a one-line message in err naming the file, and the dataset or
 * attribute at fault, when the file cannot be read or is no results file. */
int sgdmc_summarize(const char *path, sgdmc_summary_format format, double grad_eps, FILE *out,
                    char *err, size_t errlen);

/* The exact two-sided 95% Clopper-Pearson interval for k successes in n >= 1
 * trials: low = 0 if k = 0, else the 0.025 quantile of Beta(k, n-k+1);
 * high = 1 if k = n, else the 0.975 quantile of Beta(k+1, n-k). */
void sgdmc_clopper_pearson(long k, long n, double *low, double *high);

#endif
