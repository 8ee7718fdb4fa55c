/* SIGTERM, SIGINT, SIGHUP and SIGUSR1 as a request to stop: SLURM's time
 * limit, its early warning (--signal=USR1@...), scancel, Ctrl-C and a closed
 * terminal end a study cleanly instead of killing it (SIGINT and SIGHUP only
 * when not ignored already, as under nohup). The first signal only sets a
 * flag that the study engine polls; a second one kills as usual. SIGPIPE is
 * ignored: a closed stderr costs the progress lines, not the study. */
#ifndef SGDMC_STOP_SIGNAL_H
#define SGDMC_STOP_SIGNAL_H

void sgdmc_stop_signal_install(void);

/* The signal received since sgdmc_stop_signal_install, or 0. */
int sgdmc_stop_signal_received(void);

#endif
