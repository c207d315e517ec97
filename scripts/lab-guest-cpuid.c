/* mm-cpuid: the lab guest's CPU helper, built static by scripts/lab-guest.sh into the initramfs.
 *
 *   mm-cpuid            the CPUID leaves libvirt's CPU map reads, `cpuid -1 -r` style, one a line
 *   mm-cpuid --line     the same records on one line, separated by "; " (for the serial console)
 *   mm-cpuid --use aes  executes one AES-NI instruction (aesenc) and prints its result
 *
 * --use is the lab's real cause of a hang: TCG refuses an instruction whose feature the guest's
 * CPU model lacks, so after a move onto a host whose QEMU masks aes the instruction raises #UD
 * and this process dies with SIGILL, as a real application using AES-NI would. */
#include <cpuid.h>
#include <immintrin.h>
#include <stdio.h>
#include <string.h>

static const struct { unsigned leaf, sub; } leaves[] = {
    { 0x0, 0 },        { 0x1, 0 },        { 0x6, 0 },        { 0x7, 0 },        { 0x7, 1 },
    { 0xd, 0 },        { 0xd, 1 },        { 0xf, 1 },        { 0x12, 0 },       { 0x12, 1 },
    { 0x14, 0 },       { 0x40000000, 0 }, { 0x40000001, 0 }, { 0x80000000, 0 }, { 0x80000001, 0 },
    { 0x80000007, 0 }, { 0x80000008, 0 }, { 0x8000000a, 0 },
};

static int
dump(const char *sep, const char *end)
{
    unsigned a, b, c, d, max_basic, max_ext, max_hv;
    int first = 1;

    __cpuid_count(0, 0, max_basic, b, c, d);
    __cpuid_count(0x80000000, 0, max_ext, b, c, d);
    __cpuid_count(0x40000000, 0, max_hv, b, c, d);
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        unsigned l = leaves[i].leaf;
        unsigned max = l >= 0x80000000 ? max_ext : l >= 0x40000000 ? max_hv : max_basic;

        /* Beyond the maximum leaf a CPU answers with another leaf's data: not a record. */
        if (l > max && l != 0x40000000)
            continue;
        __cpuid_count(l, leaves[i].sub, a, b, c, d);
        printf("%s0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x", first ? "" : sep, l, leaves[i].sub,
               a, b, c, d);
        first = 0;
    }
    fputs(end, stdout);
    return 0;
}

__attribute__((target("aes,sse2"))) static int
use_aes(void)
{
    __m128i state = _mm_set_epi32(0x01234567, 0x89abcdef, 0x0badf00d, 0x5eed1e55);
    __m128i key = _mm_set_epi32(0x2b7e1516, 0x28aed2a6, 0xabf71588, 0x09cf4f3c);
    unsigned out[4];

    state = _mm_aesenc_si128(state, key);
    _mm_storeu_si128((__m128i *)out, state);
    printf("aesenc %08x%08x%08x%08x\n", out[3], out[2], out[1], out[0]);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 1)
        return dump("\n", "\n");
    if (argc == 2 && strcmp(argv[1], "--line") == 0)
        return dump("; ", "\n");
    if (argc == 3 && strcmp(argv[1], "--use") == 0 && strcmp(argv[2], "aes") == 0)
        return use_aes();
    fprintf(stderr, "usage: mm-cpuid [--line | --use aes]\n");
    return 2;
}
