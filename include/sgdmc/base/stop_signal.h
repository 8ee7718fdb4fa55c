/* SIGTERM, SIGINT and SIGUSR1 as a request to stop: SLURM's time limit, its
 * early warning (--signal=USR1@...), scancel and Ctrl-C end a study cleanly
 * instead of killing it. The first signal only
 * sets a flag that the study engine polls; a second one kills as usual. */
#ifndef SGDMC_STOP_SIGNAL_H
#define SGDMC_STOP_SIGNAL_H

void sgdmc_stop_signal_install(void);

/* The signal received since sgdmc_stop_signal_install, or 0. */
int sgdmc_stop_signal_received(void);

#endif
