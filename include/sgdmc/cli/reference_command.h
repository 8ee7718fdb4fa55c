/* `sgdmc reference`: R*(w) of one-hidden-layer ReLU networks for a problem
 * given by `sgdmc train` flags (see rstar.h). */
#ifndef SGDMC_REFERENCE_COMMAND_H
#define SGDMC_REFERENCE_COMMAND_H

/* argv holds the arguments after "reference"; returns the exit status:
 * 0 done, 2 bad flags or an unsupported problem, 1 out of memory. */
int sgdmc_reference_main(int argc, char **argv);

#endif
