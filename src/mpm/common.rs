//! What every Unix MPM's parent does the same way (Apache's mpm_unix.c): naming and
//! logging child exits, and reclaiming children on stop with Apache's escalation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rhttpd_sys::ChildExit;
use rhttpd_sys::process::{reap_nohang, send_signal};

use crate::log::{self, Level};
use rhttpd_sys::sig;

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        4 => "Illegal instruction",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating point exception",
        9 => "Killed",
        10 => "User defined signal 1",
        11 => "Segmentation fault",
        12 => "User defined signal 2",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        _ => "Unknown signal",
    }
}

/// Log a child's exit as Apache does (AH00051/AH00052 for signals we did not send,
/// AH00050-style alerts for fatal exit codes).
pub fn log_child_exit(pid: i32, exit: ChildExit, core_dir: &std::path::Path) {
    match exit {
        ChildExit::Signaled {
            signal,
            core_dumped,
        } => {
            if [sig::TERM, sig::HUP, sig::USR1].contains(&signal) {
                return;
            }
            let msg = if core_dumped {
                format!(
                    "AH00051: child pid {pid} exit signal {} ({signal}), possible coredump in {}",
                    signal_name(signal),
                    core_dir.display()
                )
            } else {
                format!(
                    "AH00052: child pid {pid} exit signal {} ({signal})",
                    signal_name(signal)
                )
            };
            log::log("core", Level::Notice, None, &msg);
        }
        ChildExit::Exited(15) => log::log(
            "core",
            Level::Alert,
            None,
            &format!("AH00050: Child {pid} returned a Fatal error... Apache is exiting!"),
        ),
        ChildExit::Exited(_) => {}
    }
}

/// Stop children with Apache's schedule (ap_reclaim_child_processes): SIGTERM at once,
/// again at 3, 5 and 7 s (AH00045), SIGKILL at 9 s (AH00046), give up at 10 s (AH00047).
/// `children` maps pid → slot; reaped children are passed to `on_exit`.
pub fn reclaim(
    children: &mut HashMap<i32, usize>,
    first_signal: Option<i32>,
    mut on_exit: impl FnMut(i32, usize, ChildExit),
) {
    if let Some(sig) = first_signal {
        for &pid in children.keys() {
            let _ = send_signal(pid, sig);
        }
    }
    let start = Instant::now();
    let mut next_step = 0usize;
    let steps: [(u64, Option<(i32, &str)>); 5] = [
        (
            3,
            Some((
                sig::TERM,
                "AH00045: child process {} still did not exit, sending a SIGTERM",
            )),
        ),
        (
            5,
            Some((
                sig::TERM,
                "AH00045: child process {} still did not exit, sending a SIGTERM",
            )),
        ),
        (
            7,
            Some((
                sig::TERM,
                "AH00045: child process {} still did not exit, sending a SIGTERM",
            )),
        ),
        (
            9,
            Some((
                sig::KILL,
                "AH00046: child process {} still did not exit, sending a SIGKILL",
            )),
        ),
        (10, None),
    ];
    let mut wait = Duration::from_millis(16);
    while !children.is_empty() {
        while let Some((pid, exit)) = reap_nohang() {
            if let Some(slot) = children.remove(&pid) {
                on_exit(pid, slot, exit);
            }
        }
        if children.is_empty() {
            break;
        }
        let elapsed = start.elapsed();
        if next_step < steps.len() && elapsed >= Duration::from_secs(steps[next_step].0) {
            match steps[next_step].1 {
                Some((sig, msg)) => {
                    for &pid in children.keys() {
                        let level = if sig == sig::KILL {
                            Level::Error
                        } else {
                            Level::Warn
                        };
                        log::log("core", level, None, &msg.replace("{}", &pid.to_string()));
                        let _ = send_signal(pid, sig);
                    }
                }
                None => {
                    for &pid in children.keys() {
                        log::log(
                            "core",
                            Level::Error,
                            None,
                            &format!(
                                "AH00047: could not make child process {pid} exit, attempting to continue anyway"
                            ),
                        );
                    }
                    children.clear();
                    break;
                }
            }
            next_step += 1;
        }
        std::thread::sleep(wait);
        wait = (wait * 4)
            .min(Duration::from_secs(1))
            .min(Duration::from_millis(100));
    }
}
