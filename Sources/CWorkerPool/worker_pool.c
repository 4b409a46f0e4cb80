// A pool of worker threads for Kernels' parallel loops that spin briefly between loops before
// they sleep. A model runs hundreds of short loops back to back (at imagine-mini's preview size
// many last tens of microseconds); with Dispatch's workers asleep between them, waking one
// (futex, context switch) was about a tenth of the U-Net's time. A worker that is still spinning
// takes the next loop's chunk within a microsecond.
//
// One loop runs at a time. Its state is one 64-bit word — generation (32 bits), chunk count and
// next unclaimed chunk (16 bits each) — so a chunk is claimed with one compare-and-swap that also
// checks it belongs to the current loop: a worker that is late can never run a chunk of the next
// loop with this loop's task, or the reverse.

#include "worker_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

/// Pause instructions a waiting thread spins for before it sleeps (workers) or yields (the
/// caller): about 50 µs on a current x86 core, longer than the gap between two loops of a model
/// and short enough that an idle program's workers are soon asleep.
#define SPIN_LIMIT 4000
#define MAX_WORKERS 255

static _Atomic uint64_t state;
static atomic_long finished;
static atomic_int sleeping;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static imagine_pool_task current_task;
static void *current_context;
static uint32_t generation;  // written only by the caller holding `busy`

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static long worker_count;  // guarded by `lock`

static inline void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int has_unclaimed(uint64_t s) {
    return (s & 0xffff) < ((s >> 16) & 0xffff);
}

/// The next chunk of loop `gen`, or -1 when it has none left (or a newer loop has begun).
static long claim(uint32_t gen) {
    uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(s >> 32) != gen || !has_unclaimed(s)) return -1;
        if (atomic_compare_exchange_weak_explicit(&state, &s, s + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            return (long)(s & 0xffff);
        }
    }
}

/// Runs chunks of loop `gen` until none is left. The task and context are read after a claim
/// succeeded (which acquires the caller's publication of them), and the caller does not return,
/// so they stay valid, until this chunk is counted in `finished`.
static void run_chunks(uint32_t gen) {
    long chunk;
    while ((chunk = claim(gen)) >= 0) {
        current_task(current_context, chunk);
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    }
}

static void *worker(void *unused) {
    (void)unused;
    for (;;) {
        uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
        int spins = 0;
        while (!has_unclaimed(s)) {
            if (++spins < SPIN_LIMIT) {
                spin_pause();
            } else {
                pthread_mutex_lock(&lock);
                // Counted before the state is checked again (both sequentially consistent): the
                // caller publishes a loop and then reads `sleeping`, so either this thread sees
                // the loop or the caller sees the sleeper and signals under the lock.
                atomic_fetch_add(&sleeping, 1);
                while (!has_unclaimed(atomic_load(&state))) pthread_cond_wait(&wake, &lock);
                atomic_fetch_sub(&sleeping, 1);
                pthread_mutex_unlock(&lock);
                spins = 0;
            }
            s = atomic_load_explicit(&state, memory_order_acquire);
        }
        run_chunks((uint32_t)(s >> 32));
    }
    return 0;
}

/// Starts workers until there are `wanted` (at most MAX_WORKERS); returns how many there are.
static long ensure_workers(long wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    pthread_mutex_lock(&lock);
    while (worker_count < wanted) {
        pthread_t thread;
        if (pthread_create(&thread, 0, worker, 0) != 0) break;
        pthread_detach(thread);
        worker_count += 1;
    }
    long count = worker_count;
    pthread_mutex_unlock(&lock);
    return count;
}

int imagine_pool_run(long threads, long chunks, imagine_pool_task task, void *context) {
    if (chunks < 1 || chunks > 0xffff) return 1;
    if (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) return 1;
    if (ensure_workers(threads - 1) < 1 && chunks > 1) {
        atomic_flag_clear_explicit(&busy, memory_order_release);
        return 1;
    }
    current_task = task;
    current_context = context;
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    generation += 1;
    atomic_store(&state, ((uint64_t)generation << 32) | ((uint64_t)chunks << 16));
    if (atomic_load(&sleeping) > 0) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    run_chunks(generation);
    int spins = 0;
    while (atomic_load_explicit(&finished, memory_order_acquire) < chunks) {
        if (++spins < SPIN_LIMIT) spin_pause(); else sched_yield();
    }
    atomic_flag_clear_explicit(&busy, memory_order_release);
    return 0;
}
