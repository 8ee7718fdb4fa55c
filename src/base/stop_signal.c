/* The one piece of process-wide mutable state in sgdmc: a signal handler can
 * reach nothing else. */
#include "sgdmc/base/stop_signal.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t received_signal;

static void remember_signal(int signal_number) { received_signal = signal_number; }

void sgdmc_stop_signal_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = remember_signal;
    sigemptyset(&action.sa_mask);
    /* the next signal of the same kind gets the default action: a second
     * Ctrl-C ends a study that is slow to stop */
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    /* SLURM's early warning (--signal=USR1@SECONDS), which mpirun forwards */
    sigaction(SIGUSR1, &action, NULL);
}

int sgdmc_stop_signal_received(void) { return received_signal; }
