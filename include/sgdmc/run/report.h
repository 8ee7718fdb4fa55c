/* The JSON report of one run. */
#ifndef SGDMC_REPORT_H
#define SGDMC_REPORT_H

#include <stdio.h>

#include "sgdmc/core/result.h"

/* One JSON object on one line; NaN and infinities become null, so that every
 * JSON reader accepts it. Numbers keep all 17 significant digits. */
void sgdmc_result_write_json(FILE *out, const sgdmc_result *result);

#endif
