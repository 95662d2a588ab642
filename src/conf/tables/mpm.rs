//! The MPMs' directives: the rows every Unix MPM shares (mpm_common.c) joined with
//! each MPM's own.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// Directives every Unix MPM has (mpm_common.c).
const MPM_COMMON: [DirectiveSpec; 7] = [
    d(
        "StartServers",
        C::GLOBAL,
        Arity::Take1,
        "Number of child processes launched at server startup",
    ),
    d(
        "ServerLimit",
        C::GLOBAL,
        Arity::Take1,
        "Maximum value of MaxRequestWorkers for this run of Apache",
    ),
    d(
        "MaxRequestWorkers",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of connections that will be processed simultaneously",
    ),
    d(
        "MaxClients",
        C::GLOBAL,
        Arity::Take1,
        "Deprecated name of MaxRequestWorkers",
    ),
    d(
        "MaxConnectionsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of connections a particular child serves before dying.",
    ),
    d(
        "MaxRequestsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Deprecated name of MaxConnectionsPerChild",
    ),
    d(
        "GracefulShutdownTimeout",
        C::GLOBAL,
        Arity::Take1,
        "Maximum time in seconds to wait for child processes to complete transactions during shutdown",
    ),
];

const fn join<const A: usize, const B: usize, const N: usize>(
    a: [DirectiveSpec; A],
    b: [DirectiveSpec; B],
) -> [DirectiveSpec; N] {
    assert!(A + B == N);
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

const THREADED: [DirectiveSpec; 5] = [
    d(
        "ThreadsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Number of threads each child creates",
    ),
    d(
        "ThreadLimit",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of worker threads per child process for this run of Apache - Upper limit for ThreadsPerChild",
    ),
    d(
        "MinSpareThreads",
        C::GLOBAL,
        Arity::Take1,
        "Minimum number of idle threads, to handle request spikes",
    ),
    d(
        "MaxSpareThreads",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of idle threads",
    ),
    d(
        "ThreadStackSize",
        C::GLOBAL,
        Arity::Take1,
        "Size in bytes of stack used by threads handling client connections",
    ),
];

const PREFORK_OWN: [DirectiveSpec; 2] = [
    d(
        "MinSpareServers",
        C::GLOBAL,
        Arity::Take1,
        "Minimum number of idle children, to handle request spikes",
    ),
    d(
        "MaxSpareServers",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of idle children",
    ),
];

const EVENT_THREADED: [DirectiveSpec; 6] = join(
    THREADED,
    [d(
        "AsyncRequestWorkerFactor",
        C::GLOBAL,
        Arity::Take1,
        "How many additional connects will be accepted per idle worker thread",
    )],
);

pub const MPM_PREFORK: &[DirectiveSpec] = &join::<7, 2, 9>(MPM_COMMON, PREFORK_OWN);
pub const MPM_WORKER: &[DirectiveSpec] = &join::<7, 5, 12>(MPM_COMMON, THREADED);
pub const MPM_EVENT: &[DirectiveSpec] = &join::<7, 6, 13>(MPM_COMMON, EVENT_THREADED);
