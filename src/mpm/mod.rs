//! Multi-Processing Modules. Exactly one is loaded by the configuration
//! (`LoadModule mpm_{prefork,worker,event}_module ...`); `-X` bypasses them and serves
//! in one process (`server::one_process`).
//!
//! Every MPM runs the same parent, [`run`]`::<M>()` (parent_loop.rs), generic over
//! [`Mpm`]; what differs is in the MPM's own files:
//! - `prefork`: single-threaded children, one connection each (prefork.rs: `impl Mpm`,
//!   prefork_child.rs: the child).
//! - `worker`: ThreadsPerChild threads per child, a connection glued to its thread
//!   (threaded.rs: `impl Mpm` for every threaded `Flavor`, worker and event; worker_child.rs: the child).
//! - `event`: worker plus a listener thread that parks idle connections in epoll
//!   (event/).
//!
//! Shared by all of them:
//! - `parent_loop`: the parent's cycle (signals, reaping, restarts, stops) and [`Mpm`].
//! - `maintain`: idle-server maintenance as a pure function, unit-tested.
//! - `messages`: the AH numbers and wording of the parent's messages, per MPM.
//! - `parent`: startup (bind, logs, detach, pid file), reload and rebind.
//! - `common`: child-exit logging and reclaiming children on stop.
//! - `child`: the one `ChildContext`, the first steps after fork, the scoreboard
//!   observer of a connection.
//! - `settings`: MPM directives with Apache's defaults, clamps and warnings.

pub mod child;
pub mod common;
pub mod event;
pub mod maintain;
pub mod messages;
pub mod parent;
pub mod parent_loop;
pub mod prefork;
pub mod prefork_child;
pub mod settings;
pub mod threaded;
pub mod worker_child;

pub use parent_loop::{Mpm, run};
