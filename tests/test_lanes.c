/* Lockstep lanes against one run at a time, bit for bit: for every optimizer,
 * activation, loss, schedule, decay and L2, both timescales, depths 1-3 with
 * and without skips, uniform and normal inputs, the sin and teacher targets,
 * data batches and whole-data steps, groups of 1 to SGDMC_LANES seeds (full
 * and padded), trainers reused from group to group as a study reuses them,
 * lanes that diverge in mid-group while the others go on, and batch 16 at
 * every width the step has a laid-out copy for (1, 2, 4, 8, 16: the studies'
 * one input and one output) and beside it. A run's whole
 * JSON line (every field but the wall time, doubles to 17 digits) must be
 * the same from sgdmc_trainer_run_lanes as from sgdmc_trainer_run. */
#include <string.h>

#include "harness.h"
#include "sgdmc/minimum/rstar_cache.h"
#include "sgdmc/run/report.h"
#include "sgdmc/run/train.h"

enum { MAX_SEEDS = 2 * SGDMC_LANES + 1 };

static int checked_runs, diverged_runs, converged_runs, mixed_groups;
/* every trainer's R* through one cache, as a study's trainers share theirs
 * (results are the same either way: the R* cache test); computed per
 * trainer, R* was 19/20 of this test's time */
static sgdmc_rstar_cache *rstar_cache;

static sgdmc_trainer *cell_trainer(const char *flags, unsigned long seed)
{
    sgdmc_trainer *t = harness_trainer(flags, seed);
    if (t)
        sgdmc_trainer_set_rstar_cache(t, rstar_cache);
    return t;
}

/* The JSON of a result without its "seconds" (malloc'd). */
static char *json_of(const sgdmc_result *r)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    sgdmc_result_write_json(out, r);
    fclose(out);
    char *seconds = strstr(text, "\"seconds\": ");
    if (seconds) {
        char *end = strpbrk(seconds, ",}");
        end += *end == ',';
        memmove(seconds, end, strlen(end) + 1);
    }
    return text;
}

/* Seeds 0..seeds-1 alone and in groups of `group` lanes (the last one
 * padded), the lane trainers restarted from group to group. */
static void check_lanes(const char *flags, int seeds, int group)
{
    char *alone[MAX_SEEDS];
    for (int s = 0; s < seeds; s++) {
        sgdmc_trainer *t = cell_trainer(flags, (unsigned long)s);
        sgdmc_result r;
        alone[s] = NULL;
        if (t && sgdmc_trainer_run(t, &r) == 0) {
            alone[s] = json_of(&r);
            diverged_runs += r.status == SGDMC_STATUS_DIVERGED;
            converged_runs += r.status == SGDMC_STATUS_CONVERGED;
            sgdmc_result_free(&r);
        }
        sgdmc_trainer_free(t);
    }
    sgdmc_trainer *lane_trainers[SGDMC_LANES] = {NULL};
    sgdmc_lanes *lanes = NULL;
    for (int first = 0; first < seeds; first += group) {
        const int count = seeds - first < group ? seeds - first : group;
        for (int l = 0; l < count; l++) {
            const unsigned long seed = (unsigned long)(first + l);
            if (!lane_trainers[l])
                lane_trainers[l] = cell_trainer(flags, seed);
            else
                sgdmc_trainer_restart(lane_trainers[l], seed);
        }
        if (!lanes && lane_trainers[0])
            lanes = sgdmc_trainer_lanes_alloc(lane_trainers[0]);
        sgdmc_result results[SGDMC_LANES];
        const int status = lanes ? sgdmc_trainer_run_lanes(lane_trainers, count, lanes, results)
                                 : -1;
        CHECK(status == 0, "%s: seeds %d..%d in lanes: status %d", flags, first,
              first + count - 1, status);
        int diverged_lanes = 0;
        for (int l = 0; l < count && status == 0; l++)
            diverged_lanes += results[l].status == SGDMC_STATUS_DIVERGED;
        mixed_groups += diverged_lanes > 0 && diverged_lanes < count;
        for (int l = 0; l < count && status == 0; l++) {
            char *laned = json_of(&results[l]);
            const int seed = first + l;
            size_t at = 0; /* the first character that differs, and its field */
            while (alone[seed] && alone[seed][at] && alone[seed][at] == laned[at])
                at++;
            while (at > 0 && laned[at - 1] != ',')
                at--;
            CHECK(alone[seed] && !strcmp(alone[seed], laned),
                  "%s: seed %d in lane %d of %d differs from the run alone from%.150s\n"
                  "  alone:%.150s", flags, seed, l, count, laned + at,
                  alone[seed] ? alone[seed] + at : "(failed)");
            checked_runs++;
            free(laned);
            sgdmc_result_free(&results[l]);
        }
    }
    for (int l = 0; l < SGDMC_LANES; l++)
        sgdmc_trainer_free(lane_trainers[l]);
    sgdmc_lanes_free(lanes);
    for (int s = 0; s < seeds; s++)
        free(alone[s]);
}

/* An --init file of a width-2, depth-1 network with one input. */
static void write_init(const char *path, const double w1[2], const double b1[2],
                       const double w2[2], const double b2[1])
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const struct {
        const char *name;
        const double *values;
        int rank;
        hsize_t dims[2];
    } sets[] = {{"W1", w1, 2, {2, 1}}, {"b1", b1, 1, {2, 0}}, {"W2", w2, 2, {1, 2}},
                {"b2", b2, 1, {1, 0}}};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        hid_t space = H5Screate_simple(sets[i].rank, sets[i].dims, NULL);
        hid_t dset = H5Dcreate2(file, sets[i].name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, sets[i].values);
        H5Dclose(dset);
        H5Sclose(space);
    }
    H5Fclose(file);
}

int main(void)
{
    rstar_cache = sgdmc_rstar_cache_alloc();
    CHECK(rstar_cache != NULL, "out of memory");
    const char *base = "--width=5 --depth=2 --steps=60 --batch_size=7 --trajectory=5";
    char flags[1024];
    /* every optimizer, in full and padded groups */
    for (int k = 0; k < SGDMC_OPT_COUNT; k++) {
        snprintf(flags, sizeof flags, "%s --optimizer=%s", base, sgdmc_optimizer_names[k]);
        check_lanes(flags, 2 * SGDMC_LANES + 1, SGDMC_LANES);
    }
    /* every activation, deep with skips; smaller groups */
    for (int a = 0; a < SGDMC_ACT_COUNT; a++) {
        snprintf(flags, sizeof flags,
                 "--width=3 --depth=3 --skip --steps=40 --batch_size=4 --optimizer=adam "
                 "--activation=%s --trajectory=3",
                 sgdmc_activation_names[a]);
        for (int group = 1; group <= SGDMC_LANES; group++)
            check_lanes(flags, SGDMC_LANES + 1, group);
    }
    const char *cases[] = {
        /* schedules, decay, L2, both momentum forms and timescales */
        "--width=4 --depth=1 --steps=50 --optimizer=sgd --lr_schedule=power:0.6 --l2=0.01",
        "--width=4 --depth=2 --steps=50 --optimizer=momentum --weight_decay=0.05",
        "--width=4 --depth=2 --steps=50 --optimizer=nesterov --momentum=0.5 --l2=0.001",
        "--width=4 --depth=2 --steps=50 --optimizer=rmsprop --momentum=0.3",
        "--width=4 --depth=2 --steps=50 --optimizer=adamw_like --weight_decay=0.1",
        "--width=4 --depth=2 --steps=50 --optimizer=amsgrad --weight_decay=0.1 --beta2=0.9",
        "--width=4 --depth=2 --steps=50 --optimizer=normalized_sgd --timescale=single --tau=2",
        "--width=4 --depth=2 --steps=50 --optimizer=clipped_sgd --timescale=two --clip=0.1",
        "--width=4 --depth=2 --steps=50 --optimizer=signsgd --timescale=two",
        "--width=4 --depth=2 --steps=50 --optimizer=lion --timescale=single --weight_decay=0.01",
        /* inputs and targets */
        "--width=6 --depth=2 --steps=50 --input=normal --target=sin --optimizer=adam",
        "--width=6 --depth=3 --steps=50 --target=teacher --teacher_width=3 --input_dim=2",
        "--width=2 --depth=1 --steps=50 --target=constant:0.7",
        /* batch 16 (the default) at the widths with a laid-out step (the switch
         * in sgdmc_lanes_step), with skips and a smooth activation too, and shapes
         * beside them that take the general step */
        "--width=1 --depth=1 --steps=50 --optimizer=adam",
        "--width=16 --depth=3 --steps=20 --optimizer=rmsprop",
        "--width=2 --depth=3 --skip --steps=40 --activation=tanh --optimizer=adam",
        "--width=8 --depth=2 --steps=30 --input_dim=2 --optimizer=adam",
        "--width=12 --depth=2 --steps=30 --optimizer=adam",
        /* one step, and steps ending between checkpoints */
        "--width=3 --depth=1 --steps=1",
        "--width=3 --depth=2 --steps=0",
        "--width=3 --depth=2 --steps=37 --checkpoints=3 --trajectory=0",
        /* blow-ups in mid-group: plain SGD with a large step diverges for some seeds */
        "--width=8 --depth=3 --steps=200 --optimizer=sgd --lr=0.9 --init_scale=2",
        "--width=8 --depth=3 --steps=200 --optimizer=momentum --lr=0.4 --blowup=1e3",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (strstr(cases[i], "adamw_like")) /* Adam with decoupled-style decay is adam + wd */
            snprintf(flags, sizeof flags, "--width=4 --depth=2 --steps=50 --optimizer=adam "
                                          "--weight_decay=0.1 --lr=0.01");
        else
            snprintf(flags, sizeof flags, "%s", cases[i]);
        check_lanes(flags, SGDMC_LANES + 2, SGDMC_LANES);
    }
    /* normalized and clipped steps whose gradient's sum of squares underflows
     * (parameters of 1e-170, a target of 0: gradients of about 1e-170, and a
     * learning rate that keeps them there) or whose norm is a subnormal number
     * (parameters of 1e-320 and lr 0.5: lr / norm past DBL_MAX on the first
     * step): every lane rescales as the run alone does */
    const double tiny[2] = {1e-170, 1e-320};
    for (int t = 0; t < 2; t++) {
        const double w1[2] = {tiny[t], 2 * tiny[t]}, b1[2] = {3 * tiny[t], -tiny[t]};
        const double w2[2] = {tiny[t], -2 * tiny[t]}, b2[1] = {5 * tiny[t]};
        write_init("test_lanes_tiny.h5", w1, b1, w2, b2);
        const char *steps[] = {"--optimizer=normalized_sgd", "--optimizer=clipped_sgd --clip=0.5",
                               "--optimizer=normalized_sgd --timescale=two"};
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            snprintf(flags, sizeof flags,
                     "--init=test_lanes_tiny.h5 --width=2 --depth=1 --target=constant:0 "
                     "--steps=30 --batch_size=4 --lr=%s %s",
                     t == 0 ? "1e-200" : "0.5", steps[k]);
            check_lanes(flags, SGDMC_LANES + 1, SGDMC_LANES);
        }
    }
    remove("test_lanes_tiny.h5");
    /* data files: mini-batches and whole-data steps, mse and logistic */
    enum { N = 40 };
    double x[2 * N], y[N], labels[N];
    for (int i = 0; i < N; i++) {
        x[2 * i] = sin(1.7 * i);
        x[2 * i + 1] = cos(0.9 * i);
        y[i] = x[2 * i] * x[2 * i + 1];
        labels[i] = x[2 * i] > 0.3 * x[2 * i + 1] ? 1.0 : -1.0;
    }
    harness_write_data("test_lanes_data.h5", x, y, N, 2);
    harness_write_data("test_lanes_labels.h5", x, labels, N, 2);
    check_lanes("--data=test_lanes_data.h5 --width=4 --depth=2 --steps=40 --batch_size=6",
                SGDMC_LANES + 1, SGDMC_LANES);
    check_lanes("--data=test_lanes_data.h5 --width=4 --depth=2 --steps=40 --batch_size=0",
                SGDMC_LANES + 1, SGDMC_LANES);
    check_lanes("--data=test_lanes_labels.h5 --loss=logistic --activation=tanh --l2=0.01 "
                "--width=3 --depth=1 --steps=40 --batch_size=0 --gram_points=0",
                SGDMC_LANES, SGDMC_LANES);
    remove("test_lanes_data.h5");
    remove("test_lanes_labels.h5");
    printf("test_lanes: %d runs compared (%d diverged alone, %d converged; %d groups with "
           "diverged and running lanes)\n",
           checked_runs, diverged_runs, converged_runs, mixed_groups);
    CHECK(mixed_groups > 0, "the cases must include a group where some lanes diverge");
    sgdmc_rstar_cache_free(rstar_cache);
    return harness_exit("test_lanes");
}
