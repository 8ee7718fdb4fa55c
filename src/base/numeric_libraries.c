/* The libraries whose arithmetic enters the results (numeric_libraries.h). */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "sgdmc/base/numeric_libraries.h"

#include <gsl/gsl_version.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#if defined(__GLIBC__) && defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif
#endif
/* glibc's own notion of a usable feature, after GLIBC_TUNABLES (2.34 on:
 * ACTIVE, 2.33: USABLE); before 2.33 the CPU's, through GCC */
#if defined(CPU_FEATURE_ACTIVE)
#define USABLE(feature, name) CPU_FEATURE_ACTIVE(feature)
#elif defined(CPU_FEATURE_USABLE)
#define USABLE(feature, name) CPU_FEATURE_USABLE(feature)
#elif defined(__x86_64__) && defined(__GNUC__)
#define USABLE(feature, name) __builtin_cpu_supports(name)
#endif

/* The build of libm's multi-version functions glibc chose for this process:
 * the same tests in the same order as glibc's ifunc selectors
 * (sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h; those of fewer builds
 * fall back the same way). NULL where there is no such choice. */
static const char *libm_build(void)
{
#ifdef USABLE
    if (USABLE(FMA, "fma") && USABLE(AVX2, "avx2"))
        return "fma";
    if (USABLE(FMA4, "fma4"))
        return "fma4";
    if (USABLE(AVX, "avx"))
        return "avx";
    return "sse2";
#else
    return NULL;
#endif
}

/* The GNU build id of a loaded shared object (the linker's hash of its
 * contents, in an ELF note): two libm.so.6 of one glibc version with
 * different distribution patches differ in it. */
typedef struct {
    const char *name;   /* what the object's path contains, e.g. "/libm.so" */
    char hex[13];       /* the id's first 6 bytes; "" until found */
} build_id_search;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *context)
{
    (void)size;
    build_id_search *s = context;
    if (!info->dlpi_name || !strstr(info->dlpi_name, s->name))
        return 0;
    for (int h = 0; h < info->dlpi_phnum; h++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[h];
        if (segment->p_type != PT_NOTE)
            continue;
        const char *at = (const char *)(info->dlpi_addr + segment->p_vaddr);
        const char *end = at + segment->p_memsz;
        while (at + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)(const void *)at;
            const char *name = at + sizeof *note;
            const unsigned char *desc =
                (const unsigned char *)name + ((note->n_namesz + 3u) & ~3u);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                !memcmp(name, "GNU", 4) && note->n_descsz >= 6 &&
                (const char *)desc + note->n_descsz <= end) {
                for (int b = 0; b < 6; b++)
                    snprintf(s->hex + 2 * b, 3, "%02x", desc[b]);
                return 1;
            }
            at = (const char *)desc + ((note->n_descsz + 3u) & ~3u);
        }
    }
    return 0;
}

static void build_id_of(const char *name, char *hex)
{
    build_id_search s = {.name = name, .hex = ""};
    dl_iterate_phdr(find_build_id, &s);
    snprintf(hex, 13, "%s", s.hex[0] ? s.hex : "none");
}

void sgdmc_numeric_libraries(char *buf, size_t size)
{
    const char *build = libm_build();
    char libm[13], gsl[13], library[96];
    build_id_of("/libm.so", libm);
    build_id_of("/libgsl.so", gsl);
#ifdef __GLIBC__
    snprintf(library, sizeof library, "glibc %s", gnu_get_libc_version());
#else
    snprintf(library, sizeof library, "libc (not glibc)");
#endif
    snprintf(buf, size, "%s (libm %s%sbuild-id %s), GSL %s (build-id %s)", library,
             build ? build : "", build ? ", " : "", libm, gsl_version, gsl);
}
