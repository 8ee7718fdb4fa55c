/* Smoke check of the results file under mpirun: every rank trains the tasks
 * t = rank (mod size) of a study and writes them into one file. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "sgdmc/results_file.h"
#include "sgdmc/study_config.h"
#include "sgdmc/train.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int me, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3) {
        if (me == 0)
            fprintf(stderr, "usage: results_smoke STUDY.cfg OUT.h5\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    sgdmc_study study;
    char err[1024];
    if (sgdmc_study_load(argv[1], &study, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    sgdmc_results_file *file =
        sgdmc_results_create(MPI_COMM_WORLD, argv[2], &study, size, 1, err, sizeof err);
    if (!file) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (long t = me; t < study.tasks; t += size) {
        sgdmc_train_config config;
        sgdmc_study_task(&study, t, &config, NULL);
        sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
        sgdmc_result result;
        if (!trainer || sgdmc_trainer_run(trainer, &result) ||
            sgdmc_results_write(file, t, 1, &result, me)) {
            fprintf(stderr, "task %ld failed\n", t);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        sgdmc_result_free(&result);
        sgdmc_trainer_free(trainer);
    }
    int status = sgdmc_results_close(file);
    sgdmc_study_free(&study);
    MPI_Finalize();
    return status ? 1 : 0;
}
