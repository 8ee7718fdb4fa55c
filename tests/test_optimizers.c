/* Every optimizer, step for step, against the PyTorch reference trajectories
 * of tests/reference/optimizers.h5 (see make_optimizer_reference.py). */
#include <hdf5.h>

#include "harness.h"
#include "sgdmc/run/train.h"

/* Reference trajectories come from autograd gradients summed in another
 * order, so agreement is to rounding, not bitwise; 25 steps of the adaptive
 * rules keep it near 1e-16. A wrong rule is off by 1e-4 or more. */
#define TOLERANCE 1e-12

static char *read_string_attribute(hid_t obj, const char *name)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    char *value = NULL;
    if (attr < 0 || H5Aread(attr, type, &value) < 0)
        value = NULL;
    char *copy = value ? strdup(value) : NULL;
    if (value)
        H5free_memory(value);
    H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return copy;
}

static void check_case(const char *path, hid_t cases, const char *name, const char *network)
{
    hid_t group = H5Gopen2(cases, name, H5P_DEFAULT);
    char *flags = read_string_attribute(group, "flags");
    hid_t dset = H5Dopen2(group, "params", H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(space, dims, NULL);
    double *ref = malloc(sizeof(double) * dims[0] * dims[1]);
    H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ref);
    H5Sclose(space);
    H5Dclose(dset);
    H5Gclose(group);

    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    char all[2048];
    snprintf(all, sizeof all, "%s %s --data=%s --init=%s --batch_size=0", network, flags, path,
             path);
    harness_config(&config, all);
    char err[512];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    CHECK(trainer != NULL, "%s: %s", name, err);
    if (trainer) {
        const size_t n = sgdmc_trainer_param_count(trainer);
        CHECK(n == dims[1], "%s: %zu parameters, reference has %llu", name, n,
              (unsigned long long)dims[1]);
        double worst = 0.0;
        long worst_step = 0;
        for (hsize_t k = 0; k < dims[0] && n == dims[1]; k++) {
            if (k > 0)
                sgdmc_trainer_step(trainer);
            const double *x = sgdmc_trainer_params(trainer);
            for (size_t i = 0; i < n; i++) {
                double e = fabs(x[i] - ref[k * n + i]) / (1.0 + fabs(ref[k * n + i]));
                if (!(e <= worst)) {
                    worst = e;
                    worst_step = (long)k;
                }
            }
        }
        CHECK(worst <= TOLERANCE, "%s: relative error %.3g at step %ld", name, worst, worst_step);
        printf("  %-30s %llu steps, max relative error %.2e\n", name,
               (unsigned long long)dims[0] - 1, worst);
        sgdmc_trainer_free(trainer);
    }
    free(ref);
    free(flags);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_optimizers optimizers.h5\n");
        return 2;
    }
    hid_t file = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return 2;
    char *network = read_string_attribute(file, "network_flags");
    hid_t cases = H5Gopen2(file, "cases", H5P_DEFAULT);
    H5G_info_t info;
    H5Gget_info(cases, &info);
    bool seen[SGDMC_OPT_COUNT] = {false};
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[128];
        H5Lget_name_by_idx(cases, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                           H5P_DEFAULT);
        check_case(argv[1], cases, name, network);
        for (int k = 0; k < SGDMC_OPT_COUNT; k++)
            if (!strcmp(name, sgdmc_optimizer_names[k]))
                seen[k] = true;
    }
    for (int k = 0; k < SGDMC_OPT_COUNT; k++)
        CHECK(seen[k], "no reference case for optimizer %s", sgdmc_optimizer_names[k]);
    free(network);
    H5Gclose(cases);
    H5Fclose(file);
    return harness_exit("test_optimizers");
}
