/* The exit statuses of the sgdmc commands (documented in docs/cli.md). */
#ifndef SGDMC_EXIT_STATUS_H
#define SGDMC_EXIT_STATUS_H

#include <stdlib.h>

/* EXIT_SUCCESS: done; EXIT_FAILURE (1): out of memory, I/O failures */
#define SGDMC_EXIT_USAGE 2  /* bad command line, config or input file */
#define SGDMC_EXIT_RESUME 75 /* sysexits.h's EX_TEMPFAIL: the study stopped early; run it
                                again with --resume */
#define SGDMC_EXIT_LOST_RANK 76 /* a study rank fell silent for 8 s (a dead node, a hung
                                   process): every rank was stopped; resume the study, best
                                   without that node */

#endif
