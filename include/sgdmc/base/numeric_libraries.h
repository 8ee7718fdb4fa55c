/* The libraries whose arithmetic enters a run's numbers, as this process
 * loaded them. Two processes that name them differently may train one task
 * to results that differ at the rounding level, so a results file records
 * the name and one study runs under one name on every rank (docs/study.md,
 * "One build per file").
 *
 *   - glibc's libm: exp, log, log1p, expm1, sin, cos and tanh (smooth
 *     activations, normal samples, the sin target, R*'s knots). On x86-64
 *     glibc chooses at load time between builds of several of them compiled
 *     for FMA (with AVX2), FMA4, AVX and SSE2, from the CPU's usable
 *     features (which GLIBC_TUNABLES=glibc.cpu.hwcaps can restrict). The
 *     builds are not bit-identical: of 10^6 values, glibc 2.36's FMA and
 *     SSE2 builds differ in 685 of exp, 699 of sin, 376 of expm1, 59 of
 *     tanh, and each of 32 tanh runs gives another result
 *     (tests/bench/results/2026-12-05-libm-builds.txt).
 *   - GSL: its transformations of random numbers, BFGS, eigensolvers.
 *
 * HDF5 and MPI move numbers without computing them: not named here. */
#ifndef SGDMC_NUMERIC_LIBRARIES_H
#define SGDMC_NUMERIC_LIBRARIES_H

#include <stddef.h>

/* Writes, e.g., "glibc 2.36 (libm fma, build-id d6e6f9e3af12), GSL 2.7.1
 * (build-id a6c5261a1af7)" into buf, truncated to size: the versions loaded
 * at run time (not those compiled against), the libm build glibc chose
 * (fma, fma4, avx or sse2 on x86-64, by glibc's own test on the features it
 * counts as usable; before glibc 2.33 by the CPU's features; elsewhere
 * none), and the first 12 hex digits of the GNU build id of the loaded
 * libm.so and libgsl.so ("none" where there is none): a distribution's
 * patch release can change libm's code without changing glibc's version. */
void sgdmc_numeric_libraries(char *buf, size_t size);
/* Room for that line (it is about 100 characters). */
enum { SGDMC_NUMERIC_LIBRARIES_SIZE = 256 };

#endif
