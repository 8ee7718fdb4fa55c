/* The one piece of process-wide mutable state in sgdmc: a signal handler can
 * reach nothing else. */
#include "sgdmc/base/stop_signal.h"

#include <signal.h>
#include <stddef.h>
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
    /* SLURM's early warning (--signal=USR1@SECONDS), which mpirun forwards */
    sigaction(SIGUSR1, &action, NULL);
    /* Ctrl-C, and the terminal or ssh session closing; a signal the caller
     * ignores (nohup, a shell script's `&`) stays ignored */
    const int polite[] = {SIGINT, SIGHUP};
    for (size_t i = 0; i < sizeof polite / sizeof *polite; i++) {
        struct sigaction before;
        if (sigaction(polite[i], NULL, &before) == 0 && before.sa_handler != SIG_IGN)
            sigaction(polite[i], &action, NULL);
    }
    /* a closed stderr (the reader of `2>&1 | head` gone) drops the progress
     * lines instead of killing the study: writes fail with EPIPE */
    signal(SIGPIPE, SIG_IGN);
}

int sgdmc_stop_signal_received(void) { return received_signal; }
