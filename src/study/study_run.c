/* The study engine: master/worker dispatch over MPI and chunked row writes. */
#include "sgdmc/study/study_run.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sgdmc/base/build_id.h"
#include "sgdmc/base/clock.h"
#include "sgdmc/base/fingerprint.h"
#include "sgdmc/base/numeric_libraries.h"
#include "sgdmc/base/stop_signal.h"
#include "sgdmc/run/train.h"
#include "sgdmc/study/claim.h"
#include "sgdmc/study/dispatch.h"
#include "sgdmc/study/progress.h"
#include "sgdmc/study/results_file.h"
#include "sgdmc/study/study_inputs.h"

enum { TAG_REQUEST = 101, TAG_CHUNK, TAG_FINAL, TAG_HEARTBEAT };

/* A worker's report on its last chunk, sent with every request (REPORT_FIRST:
 * the chunk's first task, which names its cell; REPORT_RSTAR_NANOSECONDS:
 * the part of its time spent computing R* results). */
enum {
    REPORT_COMPLETED,
    REPORT_NANOSECONDS,
    REPORT_FLAGS,
    REPORT_FIRST,
    REPORT_RSTAR_NANOSECONDS,
    REPORT_LENGTH
};
/* The answer to a request: a chunk of tasks; none and CHUNK_WAIT: none for
 * now, ask again later; none and not CHUNK_WAIT: every task is handed out
 * (or the study is stopping). */
enum { CHUNK_FIRST, CHUNK_COUNT, CHUNK_WAIT, CHUNK_LENGTH };
enum { FLAG_STOPPING = 1, FLAG_FAILED = 2 };

enum { ROWS_PER_WRITE = 4096 }; /* rows buffered before a write at most */
/* Rows are written at least this often, so a crash loses little. */
static const double WRITE_INTERVAL = 1.0;
/* How often the master, while training, looks for requests. */
static const double SERVE_INTERVAL = 2e-4;
/* The master's longest sleep when idle. */
static const long IDLE_SLEEP_MAX_NS = 1000000;
/* A worker tells the master it is alive this often, from the poll that every
 * long computation calls (steps, R* solves, Gram measures: docs/study.md);
 * the master gives up a worker it has not heard from for LOST_AFTER. */
static const double HEARTBEAT_INTERVAL = 1.0;
static const double LOST_AFTER = 8.0;
/* A gap this long between two of the master's own looks at its workers: it
 * was stopped itself (it looks every few milliseconds when running). */
static const double SUSPENDED_AFTER = 2.0;

/* ---- running tasks (every rank) ---------------------------------------- */

typedef struct {
    const sgdmc_study *study;
    const char *path;        /* of the results file, for messages */
    sgdmc_results_file *file;
    int rank;
    /* one trainer per lane, kept from task to task within a grid cell */
    sgdmc_trainer *trainers[SGDMC_LANES];
    long trainer_cell[SGDMC_LANES];
    sgdmc_lanes *lanes;      /* of lanes_cell; NULL: not made yet */
    long lanes_cell;
    int lanes_wanted;        /* seeds trained at once where lanes pay (1..SGDMC_LANES) */
    sgdmc_rstar_cache *rstar_cache;  /* the process's R* results (owned by the caller) */
    double retry_seconds;    /* how long a rank with nothing to do now waits to ask again */
    sgdmc_result *rows;      /* [ROWS_PER_WRITE] finished, not yet written */
    sgdmc_poll_fn poll;      /* non-zero: stop now */
    void *poll_context;
    bool failed;             /* a task could not run: the study fails */
    bool write_failed;       /* rows could not be written: the study stops, to be resumed */
} runner;

/* Writes the buffered rows of tasks first .. first+count-1 and frees them.
 * A failed write stops this rank like a signal: the rows written before
 * stay done, these are not, and --resume runs them once the cause is gone. */
static int write_rows(runner *r, long first, int count)
{
    char reason[256] = "";
    const int status =
        count ? sgdmc_results_write(r->file, first, count, r->rows, r->rank, reason,
                                    sizeof reason)
              : 0;
    for (int i = 0; i < count; i++)
        sgdmc_result_free(&r->rows[i]);
    if (status) {
        fprintf(stderr,
                "sgdmc study: rank %d: cannot write rows %ld..%ld of %s: %s; stopping (rows "
                "written before stay done: run again with --resume once the cause is gone)\n",
                r->rank, first, first + count - 1, r->path, reason);
        r->write_failed = true;
    }
    return status;
}

/* A trainer for `task` in lane slot `slot`, reusing the slot's previous one
 * within the same grid cell. */
static sgdmc_trainer *trainer_for(runner *r, int slot, long task)
{
    const long cell = task / r->study->seeds;
    sgdmc_trainer **trainer = &r->trainers[slot];
    if (*trainer && cell == r->trainer_cell[slot]) {
        sgdmc_trainer_restart(*trainer, (unsigned long)(task % r->study->seeds));
        return *trainer;
    }
    sgdmc_trainer_free(*trainer);
    sgdmc_train_config config;
    sgdmc_study_task(r->study, task, &config, NULL);
    char err[1024];
    *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    r->trainer_cell[slot] = cell;
    if (*trainer) {
        sgdmc_trainer_set_rstar_cache(*trainer, r->rstar_cache);
        sgdmc_trainer_set_poll(*trainer, r->poll, r->poll_context);
        return *trainer;
    }
    fprintf(stderr, "sgdmc study: rank %d: task %ld: %s\n", r->rank, task, err);
    sgdmc_trainer_free(*trainer);
    *trainer = NULL;
    return NULL;
}

/* How many tasks from `task` (at most `left`) run together: the seeds of one
 * grid cell, up to the lanes wanted, where lanes pay for the cell's network. */
static int group_size(runner *r, long task, long left)
{
    if (r->lanes_wanted < 2 || left < 2)
        return 1;
    const long cell = task / r->study->seeds;
    long group = (cell + 1) * r->study->seeds - task; /* seeds of the cell from here */
    group = group < left ? group : left;
    group = group < r->lanes_wanted ? group : r->lanes_wanted;
    if (group < 2 || !sgdmc_lanes_pay(sgdmc_trainer_arch(r->trainers[0])))
        return 1;
    return (int)group;
}

/* Runs `group` tasks from `task` (trainers[0] is set up for it) into rows;
 * sgdmc_trainer_run's statuses. */
static int run_group(runner *r, long task, int group, sgdmc_result *rows)
{
    if (group == 1)
        return sgdmc_trainer_run(r->trainers[0], rows);
    for (int l = 1; l < group; l++)
        if (!trainer_for(r, l, task + l))
            return -2;
    const long cell = task / r->study->seeds;
    if (!r->lanes || r->lanes_cell != cell) {
        sgdmc_lanes_free(r->lanes);
        r->lanes = sgdmc_trainer_lanes_alloc(r->trainers[0]);
        r->lanes_cell = cell;
        if (!r->lanes)
            return -1;
    }
    return sgdmc_trainer_run_lanes(r->trainers, group, r->lanes, rows);
}

/* Runs tasks first .. first+count-1 in order and writes their rows; stops
 * early when poll asks to or on failure. Returns how many tasks are done
 * and written: always a prefix of the chunk. */
static long run_chunk(runner *r, long first, long count)
{
    long done = 0; /* run and written */
    int buffered = 0;
    double last_write = sgdmc_now_seconds();
    while (done + buffered < count && !r->failed && !r->write_failed &&
           !r->poll(r->poll_context)) {
        const long task = first + done + buffered;
        if (!trainer_for(r, 0, task)) {
            r->failed = true;
            break;
        }
        const long room = ROWS_PER_WRITE - buffered, left = count - done - buffered;
        const int group = group_size(r, task, left < room ? left : room);
        const int status = run_group(r, task, group, &r->rows[buffered]);
        if (status == SGDMC_RUN_ABANDONED)
            break;
        if (status) {
            if (status != -2) /* -2: trainer_for said why */
                fprintf(stderr, "sgdmc study: rank %d: task %ld: out of memory\n", r->rank,
                        task);
            r->failed = true;
            break;
        }
        buffered += group;
        if (buffered == ROWS_PER_WRITE || sgdmc_now_seconds() - last_write >= WRITE_INTERVAL) {
            if (write_rows(r, first + done, buffered) == 0)
                done += buffered;
            buffered = 0;
            last_write = sgdmc_now_seconds();
        }
    }
    if (write_rows(r, first + done, buffered) == 0)
        done += buffered;
    return done;
}

/* Seconds this process has spent computing R* results. */
static double rstar_spent(const runner *r)
{
    return r->rstar_cache ? sgdmc_rstar_cache_statistics(r->rstar_cache).seconds : 0.0;
}

/* ---- the master ---------------------------------------------------------- */

typedef struct {
    MPI_Comm comm;
    int ranks;
    sgdmc_dispatch *dispatch; /* which tasks each rank runs next */
    long pending_at_start;
    long done_before;
    long completed;          /* tasks done in this session, as reported */
    bool stopping, failed;
    int finished_workers;
    double last_serve;
    sgdmc_progress *progress;
    sgdmc_claim *claim;      /* the results file's, renewed while the study runs */
    char claim_lost[1024];   /* why the study stopped writing, when it lost its claim */
    sgdmc_results_file *file;
    const char *path;
    double last_file_check;
    char file_moved[1024];   /* why the study stopped, when its file was deleted or replaced */
    double *last_heard;      /* [ranks]: when each worker last sent anything */
    bool *finished;          /* [ranks]: its final report arrived */
    int lost_rank;           /* a worker silent for LOST_AFTER (its node died?), or 0 */
    double last_watch;       /* when watch_workers last ran; 0 before */
    /* the master's cost per chunk request, from its receive to its answer's send:
     * what bounds the ranks one study serves (docs/study.md, "How many ranks") */
    long answered, waits;     /* waits: answers "nothing for now", rank 0's own too */
    double answering_seconds, answering_max;
} dispatcher;

/* Gives up the study when a worker has been silent too long: its rows in
 * flight are lost, and the collective close would wait for it for ever. */
static void watch_workers(dispatcher *d)
{
    const double now = sgdmc_now_seconds();
    /* rank 0 looks every few milliseconds; a longer gap means it was not
     * running itself (the whole job suspended with SIGSTOP, as `scontrol
     * suspend` does, or rank 0 alone): the workers' silence meanwhile says
     * nothing, so every worker's clock starts again */
    if (d->last_watch > 0.0 && now - d->last_watch > SUSPENDED_AFTER)
        for (int w = 1; w < d->ranks; w++)
            d->last_heard[w] = now;
    d->last_watch = now;
    for (int w = 1; w < d->ranks && !d->lost_rank; w++)
        if (!d->finished[w] && now - d->last_heard[w] > LOST_AFTER) {
            d->lost_rank = w;
            d->stopping = true;
        }
}

/* Checks, every heartbeat, that the path still holds the file the rows go
 * to: one deleted, replaced or truncated meanwhile fails the study. */
static void watch_file(dispatcher *d, double now)
{
    if (d->file_moved[0] || now - d->last_file_check < SGDMC_CLAIM_HEARTBEAT)
        return;
    d->last_file_check = now;
    char why[sizeof d->file_moved];
    /* > 0, cannot look now: again at the next heartbeat */
    if (sgdmc_results_in_place(d->file, d->path, why, sizeof why) < 0) {
        memcpy(d->file_moved, why, sizeof why);
        d->failed = d->stopping = true;
    }
}

/* Renews the claim's heartbeat; losing the claim stops the study at once.
 * now: sgdmc_now_seconds(), one read for both clocks. */
static void keep_claim(dispatcher *d, double now)
{
    watch_file(d, now);
    if (!d->claim || d->claim_lost[0])
        return;
    if (sgdmc_claim_refresh(d->claim, now, d->claim_lost, sizeof d->claim_lost)) {
        fprintf(stderr, "sgdmc study: %s\n", d->claim_lost);
        d->failed = d->stopping = true;
    }
}



static void absorb_report(dispatcher *d, const long long *report)
{
    const long completed = (long)report[REPORT_COMPLETED];
    if (completed > 0) {
        sgdmc_dispatch_timed(d->dispatch, (long)report[REPORT_FIRST], completed,
                             1e-9 * (double)report[REPORT_NANOSECONDS],
                             1e-9 * (double)report[REPORT_RSTAR_NANOSECONDS]);
        d->completed += completed;
    }
    if (report[REPORT_FLAGS] & FLAG_FAILED)
        d->failed = true;
    if (report[REPORT_FLAGS])
        d->stopping = true;
    sgdmc_progress_update(d->progress, d->done_before + d->completed, sgdmc_now_seconds());
}

/* Whether every chunk has been handed out, or none will be (stopping). */
static bool finished(const dispatcher *d)
{
    return d->stopping || sgdmc_dispatch_remaining(d->dispatch) == 0;
}

/* The next chunk for `rank`: none once the study is stopping. */
static sgdmc_task_range take_chunk(dispatcher *d, int rank)
{
    return d->stopping ? (sgdmc_task_range){0, 0} : sgdmc_dispatch_take(d->dispatch, rank);
}

/* Answers every request that has arrived; never waits. */
static void serve(dispatcher *d)
{
    if (sgdmc_stop_signal_received())
        d->stopping = true;
    keep_claim(d, sgdmc_now_seconds());
    for (;;) {
        int arrived;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->comm, &arrived, &status);
        if (!arrived)
            break;
        long long report[REPORT_LENGTH];
        const double received = sgdmc_now_seconds();
        MPI_Recv(report, REPORT_LENGTH, MPI_LONG_LONG, status.MPI_SOURCE, status.MPI_TAG, d->comm,
                 MPI_STATUS_IGNORE);
        d->last_heard[status.MPI_SOURCE] = sgdmc_now_seconds();
        if (status.MPI_TAG == TAG_HEARTBEAT)
            continue;
        absorb_report(d, report);
        if (status.MPI_TAG == TAG_FINAL) {
            d->finished[status.MPI_SOURCE] = true;
            d->finished_workers++;
            continue;
        }
        const sgdmc_task_range chunk = take_chunk(d, status.MPI_SOURCE);
        long long reply[CHUNK_LENGTH] = {chunk.first, chunk.end - chunk.first,
                                         chunk.end == chunk.first && !finished(d)};
        MPI_Send(reply, CHUNK_LENGTH, MPI_LONG_LONG, status.MPI_SOURCE, TAG_CHUNK, d->comm);
        d->waits += reply[CHUNK_WAIT];
        const double took = sgdmc_now_seconds() - received;
        d->answered++;
        d->answering_seconds += took;
        if (took > d->answering_max)
            d->answering_max = took;
    }
    watch_workers(d);
    d->last_serve = sgdmc_now_seconds();
}

/* The master's poll while it trains: serve now and then, stop on request. */
static int master_poll(void *context)
{
    dispatcher *d = context;
    /* one clock read for the serve interval, the file, the claim and the
     * progress line: at width 1 the polls of the Gram measures and the
     * evaluations read the clock often enough to show (2% of a study) */
    const double now = sgdmc_now_seconds();
    if (d->ranks > 1 && now - d->last_serve >= SERVE_INTERVAL) {
        serve(d);
    } else {
        if (sgdmc_stop_signal_received())
            d->stopping = true;
        keep_claim(d, now);
    }
    /* a long first task (an R* solve) must not keep the progress silent */
    sgdmc_progress_update(d->progress, d->done_before + d->completed, now);
    return d->stopping;
}

/* Sleeps until a message arrives or a signal stops the study: Open MPI's
 * blocking receive would spin and take a core away from training. */
static void wait_for_message(dispatcher *d, double until)
{
    long sleep_ns = 20000;
    while (sgdmc_now_seconds() < until) {
        int arrived;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->comm, &arrived, MPI_STATUS_IGNORE);
        if (arrived || (!d->stopping && sgdmc_stop_signal_received()))
            return;
        watch_workers(d);
        if (d->lost_rank)
            return;
        const double now = sgdmc_now_seconds();
        keep_claim(d, now);
        sgdmc_progress_update(d->progress, d->done_before + d->completed, now);
        const struct timespec pause = {0, sleep_ns};
        nanosleep(&pause, NULL);
        sleep_ns = sleep_ns * 2 > IDLE_SLEEP_MAX_NS ? IDLE_SLEEP_MAX_NS : sleep_ns * 2;
    }
}

static void run_master(dispatcher *d, runner *r)
{
    for (;;) {
        serve(d);
        const sgdmc_task_range chunk = take_chunk(d, 0);
        if (chunk.end > chunk.first) {
            const double start = sgdmc_now_seconds(), rstar_before = rstar_spent(r);
            const long done = run_chunk(r, chunk.first, chunk.end - chunk.first);
            const long long report[REPORT_LENGTH] = {
                done, (long long)(1e9 * (sgdmc_now_seconds() - start)),
                (r->failed ? FLAG_FAILED : 0) | (r->write_failed ? FLAG_STOPPING : 0),
                chunk.first, (long long)(1e9 * (rstar_spent(r) - rstar_before))};
            absorb_report(d, report);
            if (done < chunk.end - chunk.first)
                d->stopping = true;
            continue;
        }
        if (!finished(d)) { /* none for rank 0 now: again a chunk's time later */
            d->waits++;
            wait_for_message(d, sgdmc_now_seconds() + r->retry_seconds);
            continue;
        }
        if (d->finished_workers == d->ranks - 1 || d->lost_rank)
            return;
        wait_for_message(d, INFINITY);
    }
}

/* ---- a worker -------------------------------------------------------------- */

typedef struct {
    MPI_Comm comm;
    double last_heartbeat;
} worker_state;

/* Every few steps and throughout every long computation: a heartbeat to the
 * master now and then, and the stop signal. */
static int worker_poll(void *context)
{
    worker_state *w = context;
    const double now = sgdmc_now_seconds();
    if (now - w->last_heartbeat >= HEARTBEAT_INTERVAL) {
        /* small enough to go eagerly: never waits for the master */
        const long long nothing[REPORT_LENGTH] = {0};
        MPI_Send(nothing, REPORT_LENGTH, MPI_LONG_LONG, 0, TAG_HEARTBEAT, w->comm);
        w->last_heartbeat = now;
    }
    return sgdmc_stop_signal_received() != 0;
}

/* Sends a request with `report` and posts the receive of its answer. */
static void post_request(MPI_Comm comm, const long long *report, long long *answer,
                         MPI_Request requests[2])
{
    MPI_Isend(report, REPORT_LENGTH, MPI_LONG_LONG, 0, TAG_REQUEST, comm, &requests[0]);
    MPI_Irecv(answer, CHUNK_LENGTH, MPI_LONG_LONG, 0, TAG_CHUNK, comm, &requests[1]);
}

/* Waits for a request's send and its answer: the master may be busy, so
 * keep beating meanwhile. */
static void await_answer(runner *r, MPI_Request requests[2])
{
    for (int complete = 0;;) {
        MPI_Testall(2, requests, &complete, MPI_STATUSES_IGNORE);
        if (complete)
            return;
        worker_poll(r->poll_context);
        const struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
}

/* Sends a request with `report`, and waits for the answer, beating. */
static void ask(MPI_Comm comm, runner *r, const long long *report, long long *answer)
{
    MPI_Request requests[2];
    post_request(comm, report, answer, requests);
    await_answer(r, requests);
}

/* Sleeps `seconds`, beating, unless a signal stops the study first: 0, or
 * -1 when it does. */
static int pause_beating(runner *r, double seconds)
{
    const double until = sgdmc_now_seconds() + seconds;
    while (sgdmc_now_seconds() < until) {
        if (worker_poll(r->poll_context))
            return -1;
        const struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

static void run_worker(MPI_Comm comm, runner *r)
{
    long long report[REPORT_LENGTH] = {0}, sent[REPORT_LENGTH];
    long long chunk[CHUNK_LENGTH], next[CHUNK_LENGTH];
    ask(comm, r, report, chunk);
    for (;;) {
        if (chunk[CHUNK_WAIT]) {
            /* nothing for this rank now: ask again at once with the report
             * of the chunk it ran since it asked (which may change the
             * answer), else a chunk's time later */
            if (report[REPORT_COMPLETED] == 0 && pause_beating(r, r->retry_seconds)) {
                report[REPORT_FLAGS] = FLAG_STOPPING;
                break;
            }
            memcpy(sent, report, sizeof sent);
            memset(report, 0, sizeof report);
            ask(comm, r, sent, chunk);
            continue;
        }
        if (chunk[CHUNK_COUNT] == 0)
            break; /* every task has been handed out */
        /* ask for the next chunk before running this one: the answer is
         * there when this one ends, however busy the master is */
        MPI_Request requests[2];
        memcpy(sent, report, sizeof sent);
        post_request(comm, sent, next, requests);
        const double start = sgdmc_now_seconds(), rstar_before = rstar_spent(r);
        const long done = run_chunk(r, (long)chunk[CHUNK_FIRST], (long)chunk[CHUNK_COUNT]);
        report[REPORT_COMPLETED] = done;
        report[REPORT_NANOSECONDS] = (long long)(1e9 * (sgdmc_now_seconds() - start));
        report[REPORT_RSTAR_NANOSECONDS] = (long long)(1e9 * (rstar_spent(r) - rstar_before));
        report[REPORT_FIRST] = chunk[CHUNK_FIRST];
        report[REPORT_FLAGS] = (r->failed ? FLAG_FAILED : 0) |
                               (done < chunk[CHUNK_COUNT] || sgdmc_stop_signal_received()
                                    ? FLAG_STOPPING
                                    : 0);
        await_answer(r, requests);
        if (report[REPORT_FLAGS])
            break; /* the prefetched chunk stays pending for a resume */
        memcpy(chunk, next, sizeof chunk);
    }
    MPI_Send(report, REPORT_LENGTH, MPI_LONG_LONG, 0, TAG_FINAL, comm);
}

/* ---- the whole study --------------------------------------------------------- */

/* While rank 0 builds the results file: stop on a signal, keep the claim. */
typedef struct {
    sgdmc_claim *claim;
    char lost[1024];
} creation_watch;

static int creation_poll(void *context)
{
    creation_watch *w = context;
    if (w->claim && !w->lost[0])
        sgdmc_claim_refresh(w->claim, sgdmc_now_seconds(), w->lost, sizeof w->lost);
    return sgdmc_stop_signal_received() || w->lost[0];
}

/* Creates or reopens the results file: 0, -1 or SGDMC_CANCELLED. */
static int open_output(MPI_Comm comm, const sgdmc_study *study, const sgdmc_study_options *o,
                       sgdmc_claim *claim, sgdmc_results_file **file, char *err, size_t errlen)
{
    int me, ranks;
    MPI_Comm_rank(comm, &me);
    MPI_Comm_size(comm, &ranks);
    int exists = me == 0 ? access(o->output, F_OK) == 0 : 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
    if (o->resume && exists) {
        *file = sgdmc_results_open(comm, o->output, study, err, errlen);
        return *file ? 0 : -1;
    }
    if (o->resume && me == 0 && o->progress)
        fprintf(o->progress, "sgdmc study: %s does not exist yet: starting the study\n",
                o->output);
    creation_watch watch = {.claim = claim};
    const sgdmc_cancel cancel = {creation_poll, &watch};
    const int status = sgdmc_results_create(comm, o->output, study, ranks, o->force,
                                            me == 0 ? &cancel : NULL, file, err, errlen);
    if (watch.lost[0])
        snprintf(err, errlen, "%s", watch.lost);
    return watch.lost[0] ? -1 : status;
}

static int read_done(void *file, long first, long count, unsigned char *done)
{
    return sgdmc_results_read_done(file, first, count, done);
}

/* Rank 0 claims the results file for the study's whole life; every rank
 * learns whether it did. */
static int claim_output(MPI_Comm comm, const sgdmc_study_options *o, sgdmc_claim **claim,
                        char *err, size_t errlen)
{
    int me;
    MPI_Comm_rank(comm, &me);
    int claimed = 1;
    struct stat st;
    if (me == 0 && stat(o->output, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory; --output names the results file", o->output);
        claimed = 0;
    } else if (me == 0) {
        char note[1024];
        *claim = sgdmc_claim_take(o->output, note, sizeof note, err, errlen);
        claimed = *claim != NULL;
        if (note[0])
            fprintf(stderr, "sgdmc study: %s: %s\n", o->output, note);
    }
    MPI_Bcast(&claimed, 1, MPI_INT, 0, comm);
    if (!claimed && me != 0)
        snprintf(err, errlen, "%s: rank 0 could not claim it", o->output);
    return claimed ? 0 : -1;
}

/* What a rank computes with (the build and the numeric libraries, as a
 * results file records them), and where it runs. */
typedef struct {
    char computes_with[64 + SGDMC_NUMERIC_LIBRARIES_SIZE]; /* "build B with L" */
    /* the study as this rank loaded it: the SHA-256 of the config's text and
     * of every cell's input files, or why it could not be read */
    char study[256];
    char host[MPI_MAX_PROCESSOR_NAME];
} rank_identity;

/* The digest of `study` as this rank sees it into digest (see rank_identity) */
static void study_digest(const sgdmc_study *study, char *digest, size_t size)
{
    sgdmc_study_inputs inputs;
    char err[200];
    if (sgdmc_study_inputs_compute(study, &inputs, err, sizeof err)) {
        snprintf(digest, size, "an unreadable input (%s)", err);
        return;
    }
    const size_t text = strlen(study->text);
    const size_t hashes = (size_t)SGDMC_INPUT_KINDS * (size_t)inputs.cells * SGDMC_FINGERPRINT_SIZE;
    char *bytes = malloc(text + 1 + hashes);
    char hex[SGDMC_FINGERPRINT_SIZE];
    if (!bytes) {
        snprintf(digest, size, "out of memory");
    } else {
        memcpy(bytes, study->text, text + 1);
        memcpy(bytes + text + 1, inputs.sha256, hashes);
        if (sgdmc_fingerprint_bytes(bytes, text + 1 + hashes, hex))
            snprintf(digest, size, "no SHA-256 (libcrypto failed)");
        else
            snprintf(digest, size, "SHA-256 %s", hex);
    }
    free(bytes);
    sgdmc_study_inputs_free(&inputs);
}

/* Every rank must compute with the same build and numeric libraries, or a
 * task's result would depend on the rank that ran it: a node whose CPU
 * makes glibc load another libm build, or with other library packages, or
 * a rank started from another binary (one that has this check: an older
 * one does not take part). And every rank must have loaded the same study:
 * rank 0 alone checks the config and input files against the results file,
 * so a node-local copy out of date would mix its rows in. Checked before the
 * results file is touched, in O(1) memory per rank: rank 0's identity to all, the first rank that
 * differs back to rank 0. 0, or -1 on every rank with rank 0's err naming
 * that rank. */
static int same_on_every_rank(MPI_Comm comm, const sgdmc_study *study, char *err,
                              size_t errlen)
{
    enum { TAG_IDENTITY = 100 };
    int me, length;
    MPI_Comm_rank(comm, &me);
    rank_identity mine = {0}, first = {0};
    char libraries[SGDMC_NUMERIC_LIBRARIES_SIZE];
    sgdmc_numeric_libraries(libraries, sizeof libraries);
    snprintf(mine.computes_with, sizeof mine.computes_with, "build %s with %s", SGDMC_BUILD,
             libraries);
    study_digest(study, mine.study, sizeof mine.study);
    MPI_Get_processor_name(mine.host, &length);
    first = mine;
    MPI_Bcast(&first, (int)sizeof first, MPI_BYTE, 0, comm);
    int differs = strcmp(first.computes_with, mine.computes_with) ||
                          strcmp(first.study, mine.study)
                      ? me
                      : INT_MAX,
        lowest;
    MPI_Allreduce(&differs, &lowest, 1, MPI_INT, MPI_MIN, comm);
    if (lowest == INT_MAX)
        return 0;
    rank_identity other = mine;
    if (me == lowest)
        MPI_Send(&mine, (int)sizeof mine, MPI_BYTE, 0, TAG_IDENTITY, comm);
    else if (me == 0)
        MPI_Recv(&other, (int)sizeof other, MPI_BYTE, lowest, TAG_IDENTITY, comm,
                 MPI_STATUS_IGNORE);
    if (me == 0 && strcmp(other.computes_with, mine.computes_with))
        snprintf(err, errlen,
                 "rank %d (host %s) runs %s, rank 0 (host %s) %s: they may train a task to "
                 "results that differ at the rounding level; run the study on nodes that load "
                 "the same (docs/study.md, \"One build per file\")",
                 lowest, other.host, other.computes_with, mine.host, mine.computes_with);
    else if (me == 0)
        snprintf(err, errlen,
                 "rank %d (host %s) loaded another study than rank 0 (host %s): its config "
                 "text and input files give %.80s, rank 0's %.80s; give every rank the same "
                 "files (a node-local copy out of date?)",
                 lowest, other.host, mine.host, other.study, mine.study);
    else
        snprintf(err, errlen, "rank %d computes with another build or other libraries, or "
                              "loaded another study, than rank 0", lowest);
    return -1;
}

sgdmc_study_outcome sgdmc_study_run(MPI_Comm comm, const sgdmc_study *study,
                                    const sgdmc_study_options *o, char *err, size_t errlen)
{
    int me, ranks;
    MPI_Comm_rank(comm, &me);
    MPI_Comm_size(comm, &ranks);
    err[0] = '\0';
    if (same_on_every_rank(comm, study, err, errlen))
        return SGDMC_STUDY_FAILED;
    sgdmc_claim *claim = NULL;
    if (claim_output(comm, o, &claim, err, errlen))
        return SGDMC_STUDY_FAILED;
    sgdmc_results_file *file = NULL;
    const int opened = open_output(comm, study, o, claim, &file, err, errlen);
    if (opened) {
        sgdmc_claim_release(claim);
        return opened == SGDMC_CANCELLED ? SGDMC_STUDY_INTERRUPTED : SGDMC_STUDY_FAILED;
    }
    MPI_Comm protocol; /* the dispatch messages never meet MPI-IO's own */
    MPI_Comm_dup(comm, &protocol);
    dispatcher d = {.comm = protocol,
                    .ranks = ranks,
                    .claim = claim,
                    .file = file,
                    .path = o->output,
                    .last_file_check = sgdmc_now_seconds()};
    runner r = {.study = study, .path = o->output, .file = file, .rank = me, .lanes_cell = -1,
                .lanes_wanted = o->lanes > 0 ? o->lanes : SGDMC_LANES,
                .retry_seconds = o->chunk_seconds > 0.0 ? o->chunk_seconds : SGDMC_CHUNK_SECONDS};
    for (int l = 0; l < SGDMC_LANES; l++)
        r.trainer_cell[l] = -1;
    r.rows = calloc(ROWS_PER_WRITE, sizeof *r.rows);
    r.rstar_cache = o->rstar_cache;
    d.last_heard = calloc((size_t)ranks, sizeof *d.last_heard);
    d.finished = calloc((size_t)ranks, sizeof *d.finished);
    int setup_failed = !r.rows || !d.last_heard || !d.finished;
    for (int w = 0; d.last_heard && w < ranks; w++)
        d.last_heard[w] = sgdmc_now_seconds();
    if (me == 0 && !setup_failed)
        setup_failed = !(d.dispatch = sgdmc_dispatch_alloc(
                             study, ranks,
                             o->chunk_seconds > 0.0 ? o->chunk_seconds : SGDMC_CHUNK_SECONDS,
                             o->lanes > 0 ? o->lanes : SGDMC_LANES, read_done, file));
    if (d.dispatch) {
        d.pending_at_start = sgdmc_dispatch_pending(d.dispatch);
        d.done_before = study->tasks - d.pending_at_start;
    }
    int any_failed;
    MPI_Allreduce(&setup_failed, &any_failed, 1, MPI_INT, MPI_BOR, comm);
    sgdmc_study_outcome outcome = SGDMC_STUDY_FAILED;
    if (any_failed) {
        snprintf(err, errlen, "%s: cannot read the done flags (or out of memory)", o->output);
    } else if (me == 0) {
        if (o->progress && d.done_before)
            fprintf(o->progress, "sgdmc study: resuming %s: %ld of %ld tasks already done\n",
                    o->output, d.done_before, study->tasks);
        d.progress = sgdmc_progress_start(o->progress, o->progress_style, study->tasks,
                                          d.done_before);
        r.poll = master_poll;
        r.poll_context = &d;
        run_master(&d, &r);
        /* the last checks: a file moved since the last heartbeat, or one that
         * cannot be looked at now, is not complete; nor is one whose claim
         * another process took since the last heartbeat */
        if (!d.failed && !d.lost_rank &&
            sgdmc_results_in_place(file, o->output, d.file_moved, sizeof d.file_moved))
            d.failed = true;
        if (!d.failed && !d.lost_rank && d.claim &&
            sgdmc_claim_check(d.claim, d.claim_lost, sizeof d.claim_lost))
            d.failed = true;
        outcome = d.lost_rank                         ? SGDMC_STUDY_LOST_RANK
                  : d.failed                          ? SGDMC_STUDY_FAILED
                  : d.completed == d.pending_at_start ? SGDMC_STUDY_COMPLETE
                                                      : SGDMC_STUDY_INTERRUPTED;
        sgdmc_progress_finish(d.progress, d.done_before + d.completed,
                              outcome == SGDMC_STUDY_COMPLETE ? "complete"
                              : outcome == SGDMC_STUDY_FAILED ? "failed"
                                                              : "interrupted: resume with --resume");
        if (o->progress && d.answered > 0)
            fprintf(o->progress, "sgdmc study: rank 0 answered %ld chunk requests, %.1f us each "
                    "on average, %.1f us at most; %ld said nothing for now\n", d.answered,
                    1e6 * d.answering_seconds / (double)d.answered, 1e6 * d.answering_max,
                    d.waits);
    } else {
        worker_state state = {protocol, sgdmc_now_seconds()};
        r.poll = worker_poll;
        r.poll_context = &state;
        run_worker(protocol, &r);
    }
    if (outcome == SGDMC_STUDY_LOST_RANK) {
        /* the lost rank never joins a collective again: no close, no
         * broadcast; the rows written so far are in the file (independent
         * writes), and the claim is given up so that a resume starts at once */
        snprintf(err, errlen, "rank %d sent nothing for %.0f s (its node died or it hangs): "
                 "stopping every rank; resume with --resume", d.lost_rank, LOST_AFTER);
        sgdmc_claim_release(claim);
        return outcome;
    }
    for (int l = 0; l < SGDMC_LANES; l++)
        sgdmc_trainer_free(r.trainers[l]);
    sgdmc_lanes_free(r.lanes);
    free(r.rows);
    sgdmc_dispatch_free(d.dispatch);
    free(d.last_heard);
    free(d.finished);
    MPI_Comm_free(&protocol);
    int shared = (int)outcome;
    MPI_Bcast(&shared, 1, MPI_INT, 0, comm);
    outcome = (sgdmc_study_outcome)shared;
    if (!any_failed && outcome == SGDMC_STUDY_FAILED)
        snprintf(err, errlen, "%s", d.claim_lost[0]    ? d.claim_lost
                                    : d.file_moved[0] ? d.file_moved
                                                      : "a task failed (see the messages above)");
    int write_failed = r.write_failed, any_write_failed;
    MPI_Allreduce(&write_failed, &any_write_failed, 1, MPI_INT, MPI_BOR, comm);
    if (any_write_failed) {
        /* the rows flagged done are in the file (independent writes into
         * space allocated at creation); HDF5 cannot close it now */
        sgdmc_claim_release(claim);
        if (outcome != SGDMC_STUDY_FAILED)
            err[0] = '\0';
        return SGDMC_STUDY_WRITE_FAILED;
    }
    int close_failed = sgdmc_results_close(file) != 0, any_close_failed;
    MPI_Allreduce(&close_failed, &any_close_failed, 1, MPI_INT, MPI_BOR, comm);
    if (any_close_failed && outcome != SGDMC_STUDY_FAILED) {
        snprintf(err, errlen, "%s: cannot close the results file", o->output);
        outcome = SGDMC_STUDY_FAILED;
    }
    /* a claim taken over meanwhile is the new writer's: release leaves it */
    sgdmc_claim_release(claim);
    return outcome;
}
