/* Which pending tasks each rank of a study runs next (dispatch.h). */
#include "sgdmc/study/dispatch.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_CHUNK = 1 << 20,
    DONE_READ_BLOCK = 1 << 20,
};

/* A grid cell with pending tasks. A rank gets its chunks from one cell while
 * the cell has tasks to hand out, then from a cell of the same problem
 * nobody has started, then from a problem nobody has started: a rank
 * computes the R* of each problem it works on (a one-off set-up that can take
 * longer than many runs), so the fewer problems per rank, the fewer ranks
 * compute the same R*. */
typedef struct {
    long first;              /* its first pending task */
    size_t problem;          /* index in the dispatch's problems */
    double seconds_per_task; /* running estimate from its chunks; 0 before the first */
    size_t range_next;       /* the range of the next task to hand out (its ranges are
                                consecutive in the dispatch's) */
    long cursor;             /* that task */
    long unassigned;         /* its tasks not yet handed out */
    int workers;             /* ranks whose current cell it is */
    bool started;            /* handed out to some rank once */
} pending_cell;

/* The pending cells of one problem (sgdmc_study_problem_of_cell): those
 * cells' R* results are the same, so one rank had best run them all. */
typedef struct {
    size_t next;             /* in problem_cells: its first cell not known to be started */
    size_t end;              /* one past its last cell there */
    double rstar_seconds;    /* what its R* cost a rank, as reported; 0 before a report */
    bool started;            /* one of its cells has been handed out */
} pending_problem;

/* The problems a rank has had cells of, whose R* it has computed. */
typedef struct {
    size_t *problems;
    size_t count, capacity;
} met_problems;

struct sgdmc_dispatch {
    int ranks;
    sgdmc_task_range *ranges; /* the pending tasks, in order, none across two cells */
    size_t range_count;
    pending_cell *cells;     /* the cells with pending tasks, in order */
    size_t cell_count;
    size_t next_unstarted;   /* every cell before it has been started */
    pending_problem *problems; /* in the order of their first pending cells */
    size_t problem_count;
    size_t next_unstarted_problem; /* every problem before it has been started */
    long *problem_cells;     /* [cell_count]: the cells, grouped by problem, in order */
    long *rank_cell;         /* [ranks]: index in cells of each rank's current cell, or -1 */
    met_problems *met;       /* [ranks]: the problems each rank has had cells of */
    bool met_lost;           /* one could not be noted (out of memory) */
    long remaining;          /* pending tasks not yet handed out */
    long pending_at_start;
    long seeds;              /* tasks per grid cell */
    int align;               /* chunks end on groups of this many seeds of a cell (lanes) */
    double seconds_per_task; /* running estimate over all cells; 0 before the first report */
    double rstar_seconds;    /* what a problem's R* costs a rank, over all problems; 0 before
                                the first report of one */
    double chunk_seconds;
};

/* A pending cell and its problem's number, sorted by number, then cell. */
typedef struct {
    long problem_number, cell;
} numbered_cell;

static int by_number(const void *a, const void *b)
{
    const numbered_cell *x = a, *y = b;
    if (x->problem_number != y->problem_number)
        return (x->problem_number > y->problem_number) - (x->problem_number < y->problem_number);
    return (x->cell > y->cell) - (x->cell < y->cell);
}

/* Orders the runs of sorted cells (one per problem) by their first cells. */
static int by_first_cell(const void *a, const void *b)
{
    const numbered_cell *x = *(const numbered_cell *const *)a;
    const numbered_cell *y = *(const numbered_cell *const *)b;
    return (x->cell > y->cell) - (x->cell < y->cell);
}

/* The problems of the pending cells, in the order of their first cells, and
 * their cells grouped by problem. Sorted, not tabled by number: a grid's
 * problems number up to its cells (2^40), its pending cells fit in memory. */
static int group_problems(sgdmc_dispatch *d, const sgdmc_study *study)
{
    const size_t n = d->cell_count ? d->cell_count : 1;
    numbered_cell *sorted = malloc(n * sizeof *sorted);
    const numbered_cell **runs = malloc(n * sizeof *runs);
    d->problems = calloc(n, sizeof *d->problems);
    d->problem_cells = malloc(n * sizeof *d->problem_cells);
    if (!sorted || !runs || !d->problems || !d->problem_cells) {
        free(sorted);
        free(runs);
        return -1;
    }
    for (size_t c = 0; c < d->cell_count; c++)
        sorted[c] = (numbered_cell){
            sgdmc_study_problem_of_cell(study, d->cells[c].first / d->seeds), (long)c};
    qsort(sorted, d->cell_count, sizeof *sorted, by_number);
    for (size_t c = 0; c < d->cell_count; c++)
        if (c == 0 || sorted[c].problem_number != sorted[c - 1].problem_number)
            runs[d->problem_count++] = &sorted[c];
    qsort(runs, d->problem_count, sizeof *runs, by_first_cell);
    size_t placed = 0;
    for (size_t p = 0; p < d->problem_count; p++) {
        d->problems[p].next = placed;
        for (const numbered_cell *e = runs[p];
             e < sorted + d->cell_count && e->problem_number == runs[p]->problem_number; e++) {
            d->cells[e->cell].problem = p;
            d->problem_cells[placed++] = e->cell;
        }
        d->problems[p].end = placed;
    }
    free(sorted);
    free(runs);
    return 0;
}

/* The pending cells from the ranges (each within one cell), grouped by
 * problem, and every rank without a cell yet. */
static int group_cells(sgdmc_dispatch *d, const sgdmc_study *study)
{
    d->cells = calloc(d->range_count ? d->range_count : 1, sizeof *d->cells);
    d->rank_cell = malloc((size_t)d->ranks * sizeof *d->rank_cell);
    d->met = calloc((size_t)d->ranks, sizeof *d->met);
    if (!d->cells || !d->rank_cell || !d->met)
        return -1;
    for (int rank = 0; rank < d->ranks; rank++)
        d->rank_cell[rank] = -1;
    for (size_t i = 0; i < d->range_count; i++) {
        const sgdmc_task_range *range = &d->ranges[i];
        if (i == 0 || range->first / d->seeds != d->ranges[i - 1].first / d->seeds) {
            d->cells[d->cell_count].range_next = i;
            d->cells[d->cell_count].first = range->first;
            d->cells[d->cell_count++].cursor = range->first;
        }
        d->cells[d->cell_count - 1].unassigned += range->end - range->first;
    }
    return group_problems(d, study);
}

/* Reads the done flags in blocks and keeps the pending tasks as ranges. */
static int find_pending(sgdmc_dispatch *d, const sgdmc_study *study, sgdmc_done_reader read_done,
                        void *context)
{
    const long tasks = study->tasks;
    unsigned char *done = malloc(DONE_READ_BLOCK);
    size_t capacity = 16;
    d->ranges = malloc(capacity * sizeof *d->ranges);
    if (!done || !d->ranges) {
        free(done);
        return -1;
    }
    bool open_range = false;
    for (long block = 0; block < tasks; block += DONE_READ_BLOCK) {
        const long count = tasks - block < DONE_READ_BLOCK ? tasks - block : DONE_READ_BLOCK;
        if (read_done(context, block, count, done)) {
            free(done);
            return -1;
        }
        for (long i = 0; i < count; i++) {
            const long task = block + i;
            if (done[i]) {
                open_range = false;
                continue;
            }
            d->pending_at_start++;
            if (open_range && task % d->seeds != 0) { /* a range ends with its cell */
                d->ranges[d->range_count - 1].end = task + 1;
                continue;
            }
            if (d->range_count == capacity) {
                sgdmc_task_range *bigger = realloc(d->ranges, 2 * capacity * sizeof *bigger);
                if (!bigger) {
                    free(done);
                    return -1;
                }
                d->ranges = bigger;
                capacity *= 2;
            }
            d->ranges[d->range_count++] = (sgdmc_task_range){task, task + 1};
            open_range = true;
        }
    }
    free(done);
    d->remaining = d->pending_at_start;
    return group_cells(d, study);
}

/* The size of a chunk of pending cell c: cells differ in cost by orders of
 * magnitude, and ranks work on different cells, so each cell keeps its own
 * estimate (the study's until a chunk of the cell has been timed). */
static long chunk_size(const sgdmc_dispatch *d, long c)
{
    /* before any task has been timed, single tasks measure the cost */
    long size = 1;
    const double per_task =
        d->cells[c].seconds_per_task > 0.0 ? d->cells[c].seconds_per_task : d->seconds_per_task;
    if (per_task > 0.0) {
        const double wanted = d->chunk_seconds / per_task;
        size = wanted > MAX_CHUNK ? MAX_CHUNK : (long)wanted;
    }
    /* at the end, ever smaller chunks so that every rank finishes together */
    const long guided = d->remaining / (2L * d->ranks);
    if (size > guided)
        size = guided;
    return size < 1 ? 1 : size;
}

/* Moves `rank` into cell `to` (-1: none). */
static bool has_met(const sgdmc_dispatch *d, int rank, size_t problem)
{
    const met_problems *met = &d->met[rank];
    for (size_t i = 0; i < met->count; i++)
        if (met->problems[i] == problem)
            return true;
    return false;
}

/* Notes that `rank` has met `problem` (out of memory: not noted, and the
 * rank is sent by the cells' shares alone). */
static void meet(sgdmc_dispatch *d, int rank, size_t problem)
{
    met_problems *met = &d->met[rank];
    if (has_met(d, rank, problem))
        return;
    if (met->count == met->capacity) {
        const size_t capacity = met->capacity ? 2 * met->capacity : 4;
        size_t *grown = realloc(met->problems, capacity * sizeof *grown);
        if (!grown) {
            d->met_lost = true;
            return;
        }
        met->problems = grown;
        met->capacity = capacity;
    }
    met->problems[met->count++] = problem;
}

static void move_rank(sgdmc_dispatch *d, int rank, long to)
{
    if (d->rank_cell[rank] >= 0)
        d->cells[d->rank_cell[rank]].workers--;
    d->rank_cell[rank] = to;
    if (to >= 0) {
        d->cells[to].workers++;
        d->cells[to].started = true;
        d->problems[d->cells[to].problem].started = true;
        meet(d, rank, d->cells[to].problem);
    }
}

/* The cell whose ranks `rank` would help the most, when every cell has been
 * started: the one whose ranks would be done last, W / w seconds from now
 * for W seconds of tasks left and w ranks in it, among those where the
 * rank would be done sooner with them, (W + R) / (w + 1) < W / w, that is
 * W / w > R, after the R seconds of the cell's R* if it has not met the
 * cell's problem (until a rank has reported it, what R* has cost over all
 * problems, 0 before any report; a cell whose tasks have not been timed
 * is taken at the study's time per task). -1: none for now (the rank would
 * only compute an R* for tasks the others finish first; it asks again
 * later, when the estimates may say otherwise). A started cell with tasks
 * left is some rank's current cell, so the ranks' cells are the only
 * candidates. */
static long cell_to_join(sgdmc_dispatch *d, int rank)
{
    long best = -1;
    double best_left = 0.0;
    for (int other = 0; other < d->ranks; other++) {
        const long c = d->rank_cell[other];
        const pending_cell *cell = c >= 0 ? &d->cells[c] : NULL;
        if (!cell || cell->unassigned == 0)
            continue;
        /* its tasks not timed yet: at the study's time per task, and before
         * any task of the study has been timed, worth joining */
        const double per_task =
            cell->seconds_per_task > 0.0 ? cell->seconds_per_task : d->seconds_per_task;
        const double left =
            per_task > 0.0 ? (double)cell->unassigned * per_task / cell->workers : INFINITY;
        const double problem_rstar = d->problems[cell->problem].rstar_seconds;
        const double rstar = has_met(d, rank, cell->problem) ? 0.0
                             : problem_rstar > 0.0          ? problem_rstar
                                                            : d->rstar_seconds;
        if (left > rstar && (best < 0 || left > best_left)) {
            best = c;
            best_left = left;
        }
    }
    return best;
}

/* The first cell of problem p nobody has started, or -1. */
static long unstarted_cell_of(sgdmc_dispatch *d, size_t p)
{
    pending_problem *problem = &d->problems[p];
    while (problem->next < problem->end && d->cells[d->problem_cells[problem->next]].started)
        problem->next++;
    return problem->next < problem->end ? d->problem_cells[problem->next] : -1;
}

/* The cell for `rank`, whose cell has nothing left to hand out (or which
 * has none): the first one of its problem nobody has started, else the first
 * one of a problem nobody has started, else the first one nobody has started
 * of a problem it has met (no R* to compute), else the first one nobody has
 * started, else cell_to_join's. -1: none for now. */
static long next_cell(sgdmc_dispatch *d, int rank)
{
    const long current = d->rank_cell[rank];
    const long mine = current >= 0 ? unstarted_cell_of(d, d->cells[current].problem) : -1;
    if (mine >= 0)
        return mine;
    while (d->next_unstarted_problem < d->problem_count &&
           d->problems[d->next_unstarted_problem].started)
        d->next_unstarted_problem++;
    if (d->next_unstarted_problem < d->problem_count)
        return unstarted_cell_of(d, d->next_unstarted_problem);
    const met_problems *met = &d->met[rank];
    for (size_t i = 0; i < met->count; i++) {
        const long c = unstarted_cell_of(d, met->problems[i]);
        if (c >= 0)
            return c;
    }
    while (d->next_unstarted < d->cell_count && d->cells[d->next_unstarted].started)
        d->next_unstarted++;
    if (d->next_unstarted < d->cell_count)
        return (long)d->next_unstarted;
    return cell_to_join(d, rank);
}

/* Hands out up to `size` tasks of cell c from its cursor, within one range. */
static sgdmc_task_range take_from_cell(sgdmc_dispatch *d, long c, long size)
{
    pending_cell *cell = &d->cells[c];
    while (cell->cursor == d->ranges[cell->range_next].end)
        cell->cursor = d->ranges[++cell->range_next].first;
    const long end_of_range = d->ranges[cell->range_next].end;
    long end = cell->cursor + size;
    if (d->align > 1 && d->remaining >= 2L * d->ranks * d->align) {
        /* whole lockstep groups: a chunk ends where a group of the cell ends,
         * so that groups are padded only at a cell's last seeds; not in the
         * study's last chunks (chunk_size's guided share below one group),
         * which stay small so that the ranks finish together (a cell too
         * wide for lanes runs one task at a time) */
        const long cell_start = cell->cursor - cell->cursor % d->seeds;
        const long into_cell = end - cell_start;
        const long aligned = cell_start + (into_cell + d->align - 1) / d->align * d->align;
        end = aligned < cell_start + d->seeds ? aligned : cell_start + d->seeds;
    }
    if (end > end_of_range)
        end = end_of_range;
    const sgdmc_task_range chunk = {cell->cursor, end};
    cell->cursor = end;
    cell->unassigned -= end - chunk.first;
    d->remaining -= end - chunk.first;
    return chunk;
}

/* Whether a chunk that ends cell c may run on into the next cell, c + 1
 * (nobody has started it): where next_cell would send the rank anyway, to
 * a cell of its problem, or of a problem nobody has started once its own
 * has no cell left to start. */
static bool spills_into(sgdmc_dispatch *d, long c, long next)
{
    const size_t problem = d->cells[c].problem;
    if (d->cells[next].problem == problem)
        return true;
    return !d->problems[d->cells[next].problem].started && unstarted_cell_of(d, problem) < 0;
}

/* The next chunk for `rank`: from its current cell while that has tasks
 * left, else from next_cell's; a chunk runs on into the next cells while
 * nobody has started them or their problems (a cell of a problem another
 * rank has started is left to that rank), so that small cells do not each
 * cost a request. */
sgdmc_task_range sgdmc_dispatch_take(sgdmc_dispatch *d, int rank)
{
    if (d->remaining == 0)
        return (sgdmc_task_range){0, 0};
    long c = d->rank_cell[rank];
    if (c < 0 || d->cells[c].unassigned == 0) {
        c = next_cell(d, rank);
        move_rank(d, rank, c);
        if (c < 0) /* nothing worth its while now: it asks again later */
            return (sgdmc_task_range){0, 0};
    }
    long size = chunk_size(d, c);
    sgdmc_task_range chunk = take_from_cell(d, c, size);
    size -= chunk.end - chunk.first;
    while (size > 0 && d->cells[c].unassigned == 0 && (size_t)c + 1 < d->cell_count &&
           !d->cells[c + 1].started && d->cells[c + 1].cursor == chunk.end &&
           spills_into(d, c, c + 1)) {
        move_rank(d, rank, ++c);
        /* timed with the cell before it: the report names a chunk's first cell only */
        d->cells[c].seconds_per_task = d->cells[c - 1].seconds_per_task;
        const sgdmc_task_range more = take_from_cell(d, c, size);
        chunk.end = more.end;
        size -= more.end - more.first;
    }
    return chunk;
}

/* The pending cell of `task` (one of the study's pending tasks). */
static pending_cell *cell_of(sgdmc_dispatch *d, long task)
{
    size_t low = 0, high = d->cell_count; /* the last cell whose first is <= task */
    while (high - low > 1) {
        const size_t middle = low + (high - low) / 2;
        if (d->cells[middle].first <= task)
            low = middle;
        else
            high = middle;
    }
    return &d->cells[low];
}

static double running_estimate(double estimate, double sample)
{
    return estimate > 0.0 ? 0.7 * estimate + 0.3 * sample : sample;
}

sgdmc_dispatch *sgdmc_dispatch_alloc(const sgdmc_study *study, int ranks, double chunk_seconds,
                                     int align, sgdmc_done_reader read_done, void *context)
{
    sgdmc_dispatch *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    *d = (sgdmc_dispatch){.ranks = ranks, .seeds = study->seeds, .align = align,
                          .chunk_seconds = chunk_seconds};
    if (find_pending(d, study, read_done, context)) {
        sgdmc_dispatch_free(d);
        return NULL;
    }
    return d;
}

void sgdmc_dispatch_free(sgdmc_dispatch *d)
{
    if (!d)
        return;
    free(d->ranges);
    free(d->cells);
    free(d->problems);
    free(d->problem_cells);
    free(d->rank_cell);
    for (int rank = 0; d->met && rank < d->ranks; rank++)
        free(d->met[rank].problems);
    free(d->met);
    free(d);
}

long sgdmc_dispatch_pending(const sgdmc_dispatch *d) { return d->pending_at_start; }

long sgdmc_dispatch_remaining(const sgdmc_dispatch *d) { return d->remaining; }

void sgdmc_dispatch_timed(sgdmc_dispatch *d, long first, long completed, double seconds,
                          double rstar_seconds)
{
    pending_cell *cell = cell_of(d, first);
    if (rstar_seconds > 0.0) {
        pending_problem *problem = &d->problems[cell->problem];
        problem->rstar_seconds = running_estimate(problem->rstar_seconds, rstar_seconds);
        d->rstar_seconds = running_estimate(d->rstar_seconds, rstar_seconds);
    }
    if (completed <= 0)
        return;
    const double tasks = seconds - rstar_seconds;
    const double per_task = (tasks > 0.0 ? tasks : 0.0) / (double)completed;
    d->seconds_per_task = running_estimate(d->seconds_per_task, per_task);
    cell->seconds_per_task = running_estimate(cell->seconds_per_task, per_task);
}

/* ---- a study's dispatch played on a simulated clock ---- */

/* The ranks by when they ask next (then by rank): a binary heap; each
 * reports its last chunk as it asks, as a worker's request does. */
typedef struct {
    double at;
    int rank;
    sgdmc_task_range last; /* its last chunk, run in `seconds`, `rstar` of them on R* */
    double seconds, rstar;
} asking;

static bool earlier(asking a, asking b) { return a.at < b.at || (a.at == b.at && a.rank < b.rank); }

static void sift_down(asking *heap, size_t count, size_t i)
{
    for (;;) {
        size_t least = i;
        const size_t left = 2 * i + 1, right = left + 1;
        if (left < count && earlier(heap[left], heap[least]))
            least = left;
        if (right < count && earlier(heap[right], heap[least]))
            least = right;
        if (least == i)
            return;
        const asking swap = heap[i];
        heap[i] = heap[least];
        heap[least] = swap;
        i = least;
    }
}

static int all_pending(void *unused, long first, long count, unsigned char *done)
{
    (void)unused;
    (void)first;
    memset(done, 0, (size_t)count);
    return 0;
}

int sgdmc_dispatch_play(const sgdmc_study *study, int ranks, double chunk_seconds, int align,
                        const double *task_seconds, const double *rstar_seconds,
                        sgdmc_dispatch_played *played)
{
    *played = (sgdmc_dispatch_played){0};
    sgdmc_dispatch *d = sgdmc_dispatch_alloc(study, ranks, chunk_seconds, align, all_pending, NULL);
    asking *heap = malloc((size_t)ranks * sizeof *heap);
    if (!d || !heap) {
        sgdmc_dispatch_free(d);
        free(heap);
        return -1;
    }
    for (int r = 0; r < ranks; r++)
        heap[r] = (asking){0.0, r, {0, 0}, 0.0, 0.0};
    size_t count = (size_t)ranks;
    while (count > 0) {
        const int rank = heap[0].rank;
        const double now = heap[0].at;
        if (heap[0].last.end > heap[0].last.first)
            sgdmc_dispatch_timed(d, heap[0].last.first, heap[0].last.end - heap[0].last.first,
                                 heap[0].seconds, heap[0].rstar);
        const met_problems *met = &d->met[rank];
        const size_t met_before = met->count;
        const sgdmc_task_range chunk = sgdmc_dispatch_take(d, rank);
        if (chunk.end <= chunk.first && d->remaining > 0) { /* asks again later */
            heap[0] = (asking){now + chunk_seconds, rank, {0, 0}, 0.0, 0.0};
            sift_down(heap, count, 0);
            continue;
        }
        if (chunk.end <= chunk.first) { /* this rank is done */
            heap[0] = heap[--count];
            sift_down(heap, count, 0);
            continue;
        }
        /* the problems the rank met in this chunk, as the dispatch noted
         * them: their R*, as their first cells give it */
        double seconds = 0.0, rstar = 0.0;
        for (size_t i = met_before; i < met->count; i++) {
            const size_t problem = met->problems[i];
            const size_t begin = problem == 0 ? 0 : d->problems[problem - 1].end;
            const long first_cell = d->problem_cells[begin]; /* grouped in cell order */
            rstar += rstar_seconds[d->cells[first_cell].first / d->seeds];
        }
        played->meetings += (long)(met->count - met_before);
        played->rstar_seconds += rstar;
        for (long task = chunk.first; task < chunk.end;) {
            const long cell_number = cell_of(d, task)->first / d->seeds;
            const long end_of_cell = (cell_number + 1) * d->seeds;
            const long end = chunk.end < end_of_cell ? chunk.end : end_of_cell;
            seconds += task_seconds[cell_number] * (double)(end - task);
            task = end;
        }
        played->chunks++;
        const double end = now + rstar + seconds;
        played->wall_seconds = end > played->wall_seconds ? end : played->wall_seconds;
        heap[0] = (asking){end, rank, chunk, rstar + seconds, rstar};
        sift_down(heap, count, 0);
    }
    const int status = d->met_lost ? -1 : 0;
    sgdmc_dispatch_free(d);
    free(heap);
    return status;
}
