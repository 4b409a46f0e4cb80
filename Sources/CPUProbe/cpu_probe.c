// CPUID and XGETBV, which Swift cannot issue: inline assembly lives here, and the decoding of what
// they return lives in Swift (Kernels' CPUFeatures), where tests feed it recorded values.
#include "cpu_probe.h"

#if defined(__x86_64__)
#include <cpuid.h>

imagine_cpuid_registers imagine_cpuid(uint32_t leaf, uint32_t subleaf) {
    imagine_cpuid_registers r = {0, 0, 0, 0};
    // __get_cpuid_count checks the leaf against the highest one of its range (basic or extended):
    // beyond it, CPUID would answer with the highest leaf's registers instead of zeros.
    if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) {
        r.eax = r.ebx = r.ecx = r.edx = 0;
    }
    return r;
}

uint64_t imagine_xcr0(void) {
    imagine_cpuid_registers basic = imagine_cpuid(1, 0);
    if (!((basic.ecx >> 27) & 1)) return 0;  // OSXSAVE: XGETBV would fault
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}

#else

imagine_cpuid_registers imagine_cpuid(uint32_t leaf, uint32_t subleaf) {
    (void)leaf;
    (void)subleaf;
    imagine_cpuid_registers r = {0, 0, 0, 0};
    return r;
}

uint64_t imagine_xcr0(void) { return 0; }

#endif
