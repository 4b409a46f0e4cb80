#ifndef IMAGINE_WORKER_POOL_H
#define IMAGINE_WORKER_POOL_H

/// One chunk of a parallel loop: `context` is the caller's, `chunk` in 0 ..< chunks.
typedef void (*imagine_pool_task)(void *context, long chunk);

/// Runs `task` for chunks 0 ..< `chunks` on the calling thread and the pool's `threads` − 1
/// workers (started on first use, never stopped), and returns when every chunk has finished.
/// Returns 0 when it ran; 1 when it did not run at all, because the pool is already running a
/// loop (a nested or concurrent call) or `chunks` is out of range: the caller then runs the
/// chunks some other way.
int imagine_pool_run(long threads, long chunks, imagine_pool_task task, void *context);

#endif
