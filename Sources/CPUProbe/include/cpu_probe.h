#ifndef IMAGINE_CPU_PROBE_H
#define IMAGINE_CPU_PROBE_H

#include <stdint.h>

/// The four registers CPUID returns for `leaf` and `subleaf`; all zero where the CPU has no such
/// leaf (or off x86-64).
typedef struct {
    uint32_t eax, ebx, ecx, edx;
} imagine_cpuid_registers;

imagine_cpuid_registers imagine_cpuid(uint32_t leaf, uint32_t subleaf);

/// XCR0, the register state the operating system saves on a context switch (which vector
/// registers a program may use); 0 where XGETBV is not enabled (CPUID.1:ECX.OSXSAVE clear).
uint64_t imagine_xcr0(void);

#endif
