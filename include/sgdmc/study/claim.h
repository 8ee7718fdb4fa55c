/* One writer per results file, for the study's whole life (first start,
 * every --resume, --force): a claim file FILE.h5.claim beside it, created
 * exclusively (open with O_CREAT | O_EXCL, which cluster file systems
 * honour where HDF5's file locks are off), naming the writer's host, pid
 * and SLURM job; its modification time is the writer's heartbeat, renewed
 * every SGDMC_CLAIM_HEARTBEAT seconds while the study runs.
 *
 * A claim is stale, and is taken over, when
 *   - its host is this host and its pid is dead (kill -9, a crash);
 *   - its SLURM job id is this job's (a requeued job restarts under the same
 *     id, possibly on another node), unless it is a live pid on this host;
 *   - its heartbeat is older than SGDMC_CLAIM_EXPIRY seconds (a dead node).
 * A live claim is never broken, not even by --force: the refusal names its
 * holder. A writer whose claim was taken over (its heartbeat had expired)
 * notices at its next heartbeat and stops. Readers (summarize, analysis)
 * never look at claims. */
#ifndef SGDMC_CLAIM_H
#define SGDMC_CLAIM_H

#include <stddef.h>

/* The heartbeat's period and the age at which a claim is stale, seconds. */
#define SGDMC_CLAIM_HEARTBEAT 10.0
#define SGDMC_CLAIM_EXPIRY 180.0

typedef struct sgdmc_claim sgdmc_claim;

/* Takes the claim on `results_path` for this process. NULL with one line in
 * err naming the holder of a live claim, or the OS reason the claim file
 * cannot be made (a read-only, full or missing folder). When a stale claim
 * was taken over, `note` (may be NULL) says whose and why; else it is "". */
sgdmc_claim *sgdmc_claim_take(const char *results_path, char *note, size_t notelen, char *err,
                              size_t errlen);

/* Renews the heartbeat when SGDMC_CLAIM_HEARTBEAT seconds have passed since
 * the last renewal (otherwise costs nothing); now: sgdmc_now_seconds(), read
 * once by a caller that also asks other clocks (a study's polls are frequent
 * enough that the reads showed in profiles). -1 with a message when
 * the claim is no longer this process's: the study must stop writing. A
 * claim that cannot be looked at now (stat fails other than with ENOENT) is
 * looked at again at the next heartbeat. */
int sgdmc_claim_refresh(sgdmc_claim *claim, double now, char *err, size_t errlen);

/* The same look at once, without renewing: a study's last check before it
 * says it is complete, since a claim taken over after the last heartbeat
 * would otherwise go unseen. -1 with a message when the claim is no longer
 * this process's; 0 when it is, or cannot be looked at now. */
int sgdmc_claim_check(const sgdmc_claim *claim, char *err, size_t errlen);

/* Gives the claim up: removes the claim file if it is still this process's.
 * NULL is allowed. */
void sgdmc_claim_release(sgdmc_claim *claim);

#endif
