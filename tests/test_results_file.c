/* The results file's creation and writes through the library: a cancelled
 * creation (at once, or after a few datasets) leaves nothing behind; the
 * size the file is announced to take bounds its real size on disk, by at
 * most 10% + 256 KiB, for studies with and without a grid, strings,
 * trajectories and input files; an injected write failure reports its
 * reason, leaves the rows not done, and later writes of the same file
 * succeed once the fault is gone. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/run/train.h"
#include "sgdmc/study/results_file.h"

static char results_path[64], config_path[64], data_path[64];

static int load(const char *text, sgdmc_study *study)
{
    FILE *f = fopen(config_path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        return -1;
    char err[1024];
    if (sgdmc_study_load(config_path, study, err, sizeof err)) {
        fprintf(stderr, "test setup: %s\n", err);
        exit(2);
    }
    return 0;
}

/* Says stop at its `after`-th question. */
static int stop_after(void *context)
{
    int *left = context;
    return (*left)-- <= 0;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static void check_cancelled_creation(const sgdmc_study *study)
{
    char partial[96];
    snprintf(partial, sizeof partial, "%s.creating", results_path);
    for (int after = 0; after < 4; after++) {
        int left = after;
        const sgdmc_cancel cancel = {stop_after, &left};
        sgdmc_results_file *file = NULL;
        char err[1024] = "";
        const int status = sgdmc_results_create(MPI_COMM_SELF, results_path, study, 1, 1,
                                                &cancel, &file, err, sizeof err);
        CHECK(status == SGDMC_CANCELLED && !file, "cancel after %d questions: status %d (%s)",
              after, status, err);
        CHECK(!exists(results_path) && !exists(partial),
              "cancel after %d questions: a file was left behind", after);
        if (file)
            sgdmc_results_close(file);
    }
}

static void check_size(const char *text)
{
    sgdmc_study study;
    load(text, &study);
    sgdmc_results_file *file = NULL;
    char err[1024] = "";
    CHECK(sgdmc_results_create(MPI_COMM_SELF, results_path, &study, 1, 1, NULL, &file, err,
                               sizeof err) == 0,
          "create: %s", err);
    if (file)
        sgdmc_results_close(file);
    struct stat st;
    const long long announced = sgdmc_results_file_bytes(&study);
    CHECK(stat(results_path, &st) == 0 && st.st_size <= announced &&
              announced <= 1.1 * (double)st.st_size + 256 * 1024,
          "%s: announced %lld bytes, takes %lld", study.name, announced, (long long)st.st_size);
    sgdmc_study_free(&study);
    remove(results_path);
}

static void check_write_fault(void)
{
    sgdmc_study study;
    load("name = \"w\";\nseeds = 4;\ntrain = { steps = 10; };\n", &study);
    sgdmc_results_file *file = NULL;
    char err[1024] = "", reason[256] = "";
    setenv("SGDMC_FAULT_WRITES", "1", 1);
    CHECK(sgdmc_results_create(MPI_COMM_SELF, results_path, &study, 1, 1, NULL, &file, err,
                               sizeof err) == 0,
          "create: %s", err);
    unsetenv("SGDMC_FAULT_WRITES");
    if (!file)
        return;
    sgdmc_result rows[2];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 2; i++) {
        rows[i].depth = 1;
        rows[i].status = SGDMC_STATUS_CONVERGED;
        rows[i].final_risk = 0.5 + i;
    }
    CHECK(sgdmc_results_write(file, 0, 1, rows, 0, reason, sizeof reason) == 0,
          "the first write failed: %s", reason);
    CHECK(sgdmc_results_write(file, 1, 1, rows + 1, 0, reason, sizeof reason) == -1 &&
              strstr(reason, "Input/output error") && strstr(reason, "SGDMC_FAULT_WRITES"),
          "the second write did not fail with its reason: '%s'", reason);
    unsigned char done[4];
    CHECK(sgdmc_results_read_done(file, 0, 4, done) == 0 && done[0] == 1 && done[1] == 0,
          "done flags after the fault: %d %d", done[0], done[1]);
    sgdmc_results_close(file);
    /* the fault gone (reopened without the variable): the row is written */
    file = sgdmc_results_open(MPI_COMM_SELF, results_path, &study, err, sizeof err);
    CHECK(file != NULL, "reopen: %s", err);
    if (file) {
        CHECK(sgdmc_results_write(file, 1, 1, rows + 1, 0, reason, sizeof reason) == 0,
              "write after the fault: %s", reason);
        CHECK(sgdmc_results_read_done(file, 0, 4, done) == 0 && done[1] == 1,
              "row 1 not done after the fault was gone");
        sgdmc_results_close(file);
    }
    sgdmc_study_free(&study);
    remove(results_path);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    snprintf(results_path, sizeof results_path, "test_results_file_%d.h5", (int)getpid());
    snprintf(config_path, sizeof config_path, "test_results_file_%d.cfg", (int)getpid());
    snprintf(data_path, sizeof data_path, "test_results_file_%d_data.h5", (int)getpid());
    const double x[4] = {0.1, 0.4, 0.6, 0.9}, y[4] = {0.01, 0.16, 0.36, 0.81};
    harness_write_data(data_path, x, y, 4, 1);

    sgdmc_study study;
    load("name = \"c\";\nseeds = 50;\ngrid = { width = [2, 3]; optimizer = [\"sgd\", \"adam\"]; "
         "};\noutput = { trajectory = 8; };\n",
         &study);
    check_cancelled_creation(&study);
    sgdmc_study_free(&study);

    check_size("name = \"plain\";\nseeds = 1000;\n");
    check_size("name = \"grid\";\nseeds = 300;\ngrid = { width = [2, 3, 4]; optimizer = "
               "[\"sgd\", \"momentum\", \"adam\"]; depth = [1, 3]; };\n"
               "output = { trajectory = 20; };\n");
    char with_data[512];
    snprintf(with_data, sizeof with_data,
             "name = \"data\";\nseeds = 2000;\ntrain = { data = \"%s\"; batch_size = 0; };\n",
             data_path);
    check_size(with_data);
    check_size("name = \"tiny\";\nseeds = 1;\n");

    check_write_fault();
    remove(config_path);
    remove(data_path);
    MPI_Finalize();
    return harness_exit("test_results_file");
}
