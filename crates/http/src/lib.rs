//! A sans-I/O HTTP/1.1 engine.
//!
//! Nothing here touches a socket. The server role turns bytes into [`RequestHead`]s and
//! body chunks and turns response heads into bytes; the client role (used by the reverse
//! proxy) does the reverse. Prefork and worker drive it from blocking sockets, the event
//! MPM from epoll readiness, and the same code runs under all three.

pub mod base64;
mod body;
mod client;
mod conditional;
mod date;
mod error;
mod h1_conn;
pub mod h2;
pub mod hpack;
mod names;
mod range;
mod request;
mod response;
mod token;
mod types;

pub use body::*;
pub use client::*;
pub use conditional::*;
pub use date::*;
pub use h1_conn::*;
pub use names::*;
pub use range::*;
pub use request::*;
pub use response::*;
pub use types::*;
