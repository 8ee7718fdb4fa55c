/* `sgdmc summarize`: one line (or JSON object) per grid cell of a study's
 * results file, seeds pooled: how many runs are done, converged and
 * diverged, the probability of convergence with its exact 95% interval, the
 * share of runs with a dead first-layer neuron at initialization and the
 * median final risk. It reads the file (summary_read.h), whose statistics
 * are summary_stats.h's, and prints them (summary_print.h). */
#ifndef SGDMC_SUMMARIZE_H
#define SGDMC_SUMMARIZE_H

#include <stddef.h>
#include <stdio.h>

#include "sgdmc/summary/summary_read.h"

typedef enum { SGDMC_SUMMARY_TABLE, SGDMC_SUMMARY_CSV, SGDMC_SUMMARY_JSON } sgdmc_summary_format;

/* "table", "csv", "json", NULL: indexed by sgdmc_summary_format. */
extern const char *const sgdmc_summary_format_names[];

/* 0 and *format set, or -1 when `text` names no format. */
int sgdmc_summary_format_parse(const char *text, sgdmc_summary_format *format);

/* Prints the summary of the results file at `path` to `out` in the given
 * format (summary_print.h).
 *
 * median_final_risk treats a NaN final risk (a diverged run) as +infinity,
 * so the median is +inf (csv, table: "inf"; json: null) when at least
 * half of the done runs of a cell have no finite final risk.
 *
 * -1 with a one-line message in err naming the file, and the dataset or
 * attribute at fault, when the file cannot be read or is no results file. */
int sgdmc_summarize(const char *path, sgdmc_summary_format format,
                    const sgdmc_summary_options *options, FILE *out, char *err, size_t errlen);

#endif
