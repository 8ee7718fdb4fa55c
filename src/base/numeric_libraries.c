/* The libraries whose arithmetic enters the results (numeric_libraries.h). */
#include "sgdmc/base/numeric_libraries.h"

#include <gsl/gsl_version.h>
#include <stdio.h>

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#if defined(__GLIBC__) && defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define SGDMC_HAVE_X86_FEATURES 1
#endif
#endif

/* The build of libm's multi-version functions glibc chose for this process:
 * the same test in the same order as glibc's ifunc selectors
 * (sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h; those of fewer builds
 * fall back the same way), on the features glibc counts as usable here. */
static const char *libm_build(void)
{
#ifdef SGDMC_HAVE_X86_FEATURES
    if (CPU_FEATURE_ACTIVE(FMA) && CPU_FEATURE_ACTIVE(AVX2))
        return "fma";
    if (CPU_FEATURE_ACTIVE(FMA4))
        return "fma4";
    if (CPU_FEATURE_ACTIVE(AVX))
        return "avx";
    return "sse2";
#else
    return NULL;
#endif
}

void sgdmc_numeric_libraries(char *buf, size_t size)
{
    const char *build = libm_build();
    char libm[32] = "";
    if (build)
        snprintf(libm, sizeof libm, " (libm %s)", build);
#ifdef __GLIBC__
    snprintf(buf, size, "glibc %s%s, GSL %s", gnu_get_libc_version(), libm, gsl_version);
#else
    snprintf(buf, size, "libc (not glibc)%s, GSL %s", libm, gsl_version);
#endif
}
