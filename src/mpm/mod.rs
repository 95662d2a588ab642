//! Multi-Processing Modules. Exactly one is loaded by the configuration
//! (`LoadModule mpm_{prefork,worker,event}_module ...`); `-X` bypasses them and serves
//! in one process (`server::one_process`).
//!
//! - `prefork`: single-threaded children, one connection each (prefork.rs, prefork_child.rs).
//! - `worker`: ThreadsPerChild threads per child, a connection glued to its thread
//!   (threaded.rs parent, worker_child.rs).
//! - `event`: worker plus a listener thread that parks idle connections in epoll
//!   (event/).
//! - `common`: child-exit logging and reclaiming, shared by every MPM's parent.
//! - `settings`: MPM directives with Apache's defaults, clamps and warnings.

pub mod common;
pub mod event;
pub mod parent;
pub mod prefork;
pub mod prefork_child;
pub mod settings;
pub mod threaded;
pub mod worker_child;
