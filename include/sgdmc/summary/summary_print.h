/* Printing a summary (summary_read.h).
 *
 * table: a title line, a header, one aligned row per cell, p as
 *        "0.734 [0.705, 0.761]"; "-" where there is nothing to report.
 * csv:   a header line, then one line per cell, grid keys first; strings
 *        quoted only when they need it; numbers round-trip (the shortest
 *        %g that reads back to the same double); an empty field for NaN.
 * json:  {"file", "tasks", "seeds", "grid_keys": [...], "cells": [{...}]},
 *        one cell per line; null for NaN and infinity. */
#ifndef SGDMC_SUMMARY_PRINT_H
#define SGDMC_SUMMARY_PRINT_H

#include <stdio.h>

#include "sgdmc/summary/summary_read.h"

/* -1 when out of memory. */
int sgdmc_summary_print_table(const sgdmc_summary *summary, const char *path, FILE *out);
void sgdmc_summary_print_csv(const sgdmc_summary *summary, FILE *out);
void sgdmc_summary_print_json(const sgdmc_summary *summary, const char *path, FILE *out);

#endif
