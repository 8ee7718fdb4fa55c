/* The dispatch played without MPI: simulated ranks on a simulated clock ask
 * for chunks, run them (a task takes one time unit; a rank's first task of a
 * problem it has not met also solves the problem's R*) and report their
 * times, as study_run.c's master and workers do. Checked on every play:
 * every pending task is handed out exactly once and no done task ever; a
 * chunk lies in one cell or runs on only into cells nobody had started.
 * sgdmc_dispatch_play, which --dry-run uses to say how often ranks compute
 * R* and when they would be done, is checked against this plainer loop
 * (the same meetings and the same end, to the bit: every time is a whole
 * number) and against closed forms: one rank meets every problem once and
 * runs everything; with a task per rank, every task is a meeting. And the
 * join at the end: a rank whose cell ran out joins a cell of a problem it
 * has not met only where that pays for the problem's R*, and otherwise
 * asks again later. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sgdmc/study/dispatch.h"
#include "sgdmc/study/study_config.h"

/* Done flags for a resumed study: every task t with t % 7 == 3. */
static int read_done(void *context, long first, long count, unsigned char *done)
{
    const bool *resumed = context;
    for (long i = 0; i < count; i++)
        done[i] = *resumed && (first + i) % 7 == 3;
    return 0;
}

typedef struct {
    double free_at;         /* when its chunk ends */
    sgdmc_task_range chunk; /* being run; empty: idle */
    double chunk_seconds, chunk_rstar; /* its time, and the part of it R* took */
    bool done;              /* got an empty chunk */
} simulated_rank;

typedef struct {
    long meetings;          /* (rank, problem) pairs met */
    double finished_at;
} outcome;

/* Plays the study of `text` over `ranks` ranks; R* costs rstar_units. */
static outcome play(const char *text, int ranks, double rstar_units, bool resumed,
                    const char *label)
{
    outcome result = {0};
    sgdmc_study study;
    char err[2048];
    if (sgdmc_study_parse(text, "(test)", &study, err, sizeof err)) {
        CHECK(0, "%s: %s", label, err);
        return result;
    }
    const long cells = study.tasks / study.seeds;
    sgdmc_dispatch *d = sgdmc_dispatch_alloc(&study, ranks, 8.0, 4, read_done, &resumed);
    unsigned char *handed = calloc((size_t)study.tasks, 1);
    bool *met = calloc((size_t)ranks * (size_t)cells, sizeof *met); /* [rank][problem number] */
    long *cell_rank = malloc((size_t)cells * sizeof *cell_rank);   /* who works in a cell */
    simulated_rank *rank = calloc((size_t)ranks, sizeof *rank);
    if (!d || !handed || !met || !cell_rank || !rank) {
        CHECK(0, "%s: setup", label);
        goto out;
    }
    for (long c = 0; c < cells; c++)
        cell_rank[c] = -1;
    long pending = 0;
    for (long t = 0; t < study.tasks; t++)
        pending += !(resumed && t % 7 == 3);
    CHECK(sgdmc_dispatch_pending(d) == pending, "%s: %ld pending, the dispatch says %ld", label,
          pending, sgdmc_dispatch_pending(d));
    for (;;) {
        /* the next rank to ask: the earliest free, the lowest rank at a tie */
        int next = -1;
        for (int r = 0; r < ranks; r++)
            if (!rank[r].done && (next < 0 || rank[r].free_at < rank[next].free_at))
                next = r;
        if (next < 0)
            break;
        simulated_rank *me = &rank[next];
        if (me->chunk.end > me->chunk.first)
            sgdmc_dispatch_timed(d, me->chunk.first, me->chunk.end - me->chunk.first,
                                 me->chunk_seconds, me->chunk_rstar);
        const sgdmc_task_range chunk = sgdmc_dispatch_take(d, next);
        me->chunk = chunk;
        if (chunk.end <= chunk.first) { /* none for now: again a chunk's time later */
            me->done = sgdmc_dispatch_remaining(d) == 0;
            me->free_at += 8.0;
            continue;
        }
        double seconds = 0.0, rstar = 0.0;
        for (long t = chunk.first; t < chunk.end; t++) {
            CHECK(!handed[t] && !(resumed && t % 7 == 3), "%s: task %ld handed out again (or "
                  "done)", label, t);
            handed[t] = 1;
            const long cell = t / study.seeds;
            if (t == chunk.first || t % study.seeds == 0) { /* a cell of the chunk */
                CHECK(t == chunk.first || cell_rank[cell] < 0,
                      "%s: chunk %ld..%ld runs on into cell %ld, which rank %ld has", label,
                      chunk.first, chunk.end, cell, cell_rank[cell]);
                cell_rank[cell] = next;
            }
            const long problem = sgdmc_study_problem_of_cell(&study, cell);
            bool *seen = &met[(size_t)next * (size_t)cells + (size_t)problem];
            if (!*seen) {
                *seen = true;
                rstar += rstar_units;
                result.meetings++;
            }
            seconds += 1.0;
        }
        me->chunk_seconds = rstar + seconds;
        me->chunk_rstar = rstar;
        me->free_at += rstar + seconds;
        if (me->free_at > result.finished_at)
            result.finished_at = me->free_at;
    }
    for (long t = 0; t < study.tasks; t++)
        CHECK(handed[t] || (resumed && t % 7 == 3), "%s: task %ld never handed out", label, t);
out:
    sgdmc_dispatch_free(d);
    free(handed);
    free(met);
    free(cell_rank);
    free(rank);
    sgdmc_study_free(&study);
    return result;
}

/* sgdmc_dispatch_play against the loop above (every task pending). */
static sgdmc_dispatch_played check_play(const char *text, int ranks, double rstar_units,
                                        const char *label)
{
    sgdmc_dispatch_played played = {0};
    sgdmc_study study;
    char err[2048];
    if (sgdmc_study_parse(text, "(test)", &study, err, sizeof err)) {
        CHECK(0, "%s: %s", label, err);
        return played;
    }
    double *task_seconds = malloc((size_t)study.cells * sizeof *task_seconds);
    double *rstar_seconds = malloc((size_t)study.cells * sizeof *rstar_seconds);
    /* a problem's R* from its first cell in grid order; the others' values
     * are not read (NaN would show in played.rstar_seconds) */
    for (long c = 0; task_seconds && rstar_seconds && c < study.cells; c++) {
        task_seconds[c] = 1.0;
        rstar_seconds[c] = rstar_units;
        for (long before = 0; before < c; before++)
            if (sgdmc_study_problem_of_cell(&study, before) ==
                sgdmc_study_problem_of_cell(&study, c))
                rstar_seconds[c] = NAN;
    }
    const int status = task_seconds && rstar_seconds
                           ? sgdmc_dispatch_play(&study, ranks, 8.0, 4, task_seconds,
                                                 rstar_seconds, &played)
                           : -1;
    CHECK(status == 0, "%s: sgdmc_dispatch_play failed", label);
    const outcome o = play(text, ranks, rstar_units, false, label);
    printf("%-28s meetings %4ld, done at %5.0f; played: %4ld, %5.0f, %ld chunks\n", label,
           o.meetings, o.finished_at, played.meetings, played.wall_seconds, played.chunks);
    CHECK(played.meetings == o.meetings && played.wall_seconds == o.finished_at &&
              played.rstar_seconds == rstar_units * (double)o.meetings,
          "%s: played %ld meetings (%g s of R*), done at %g; the loop: %ld, done at %g", label,
          played.meetings, played.rstar_seconds, played.wall_seconds, o.meetings,
          o.finished_at);
    free(task_seconds);
    free(rstar_seconds);
    sgdmc_study_free(&study);
    return played;
}

/* Two problems of one cell each (widths 1 and 2), 40 seeds: cell 0's tasks
 * take 0.1, cell 1's `cost`, each problem's R* 50. Rank 0 finishes cell 0
 * at 54 while rank 1 is in cell 1, whose first chunk (a lane group of 4
 * tasks) it reports at 50 + 4 cost. When cell 1's tasks take 1, what is left
 * of it, under 40, is less than an R*: rank 0 asks again every chunk's time
 * (8) and never joins, and rank 1 ends at 50 + 40 = 90 alone (an R*
 * computed for nothing would end later). When they take 10, rank 1 reports
 * at 90 with 360 left: rank 0 joins and, after its own R*, shares it, so
 * both end near 90 + (360 + 50) / 2 = 295 (chunks round it up a little),
 * far before rank 1 alone at 450. */
static void check_join(double cost, long meetings, double earliest, double latest)
{
    sgdmc_study study;
    char err[2048];
    if (sgdmc_study_parse("name = \"join\"; seeds = 40; grid = { width = [1, 2]; };\n"
                          "train = { steps = 10; };\n", "(test)", &study, err, sizeof err)) {
        CHECK(0, "join: %s", err);
        return;
    }
    const double task_seconds[2] = {0.1, cost}, rstar_seconds[2] = {50.0, 50.0};
    sgdmc_dispatch_played played;
    CHECK(sgdmc_dispatch_play(&study, 2, 8.0, 4, task_seconds, rstar_seconds, &played) == 0,
          "join: play failed");
    printf("join, cell 1's tasks %g: meetings %ld, done at %g\n", cost, played.meetings,
           played.wall_seconds);
    CHECK(played.meetings == meetings && played.wall_seconds >= earliest &&
              played.wall_seconds <= latest,
          "join, cell 1's tasks %g: %ld meetings, done at %g (due %ld, %g to %g)", cost,
          played.meetings, played.wall_seconds, meetings, earliest, latest);
    sgdmc_study_free(&study);
}

/* Paper 001's medium grid shape: 9 optimizers (not problem-defining, the
 * slowest axis) x 5 depths x 5 widths: 225 cells, 25 problems. */
static const char many[] =
    "name = \"many\"; seeds = 8;\n"
    "grid = { optimizer = [\"sgd\", \"momentum\", \"nesterov\", \"adagrad\", \"rmsprop\", "
    "\"adam\", \"adamax\", \"amsgrad\", \"nadam\"]; depth = [1, 2, 3, 4, 6]; "
    "width = [1, 2, 4, 8, 16]; };\n"
    "train = { steps = 10; };\n";

/* The problem axes slowest: each problem's 6 cells side by side. */
static const char problems_first[] =
    "name = \"problems_first\"; seeds = 12;\n"
    "grid = { width = [1, 2, 3, 4, 5, 6, 7, 8]; lr = [0.1, 0.05, 0.02]; "
    "optimizer = [\"sgd\", \"adam\"]; };\n"
    "train = { steps = 10; };\n";

/* Two cells of one problem with 10 seeds each: 20 tasks. */
static const char tiny[] =
    "name = \"tiny\"; seeds = 10;\n"
    "grid = { optimizer = [\"adam\", \"sgd\"]; };\n"
    "train = { steps = 10; };\n";

int main(void)
{
    const struct {
        const char *name, *text;
        long problems, tasks;
    } grids[] = {{"many", many, 25, 1800}, {"problems_first", problems_first, 8, 576},
                 {"tiny", tiny, 1, 20}};
    const int rank_counts[] = {1, 2, 3, 8, 16, 25, 64, 300};
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (size_t k = 0; k < sizeof rank_counts / sizeof *rank_counts; k++) {
            const int ranks = rank_counts[k];
            char label[128];
            snprintf(label, sizeof label, "%s, %d ranks", grids[g].name, ranks);
            const sgdmc_dispatch_played played = check_play(grids[g].text, ranks, 20.0, label);
            if (ranks == 1)
                CHECK(played.meetings == grids[g].problems &&
                          played.wall_seconds == grids[g].tasks + 20.0 * grids[g].problems,
                      "%s: %ld meetings (%ld problems), done at %g", label, played.meetings,
                      grids[g].problems, played.wall_seconds);
            if (ranks >= grids[g].tasks)
                CHECK(played.meetings == grids[g].tasks && played.wall_seconds == 21.0,
                      "%s: %ld meetings for %ld tasks, done at %g (21 due)", label,
                      played.meetings, grids[g].tasks, played.wall_seconds);
        }
    check_join(1.0, 2, 90.0, 90.0);
    check_join(10.0, 3, 295.0, 320.0);
    /* a resumed study: done tasks are never handed out, every other once */
    play(many, 3, 20.0, true, "many, resumed, 3 ranks");
    play(problems_first, 8, 20.0, true, "problems_first, resumed, 8 ranks");
    return harness_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
