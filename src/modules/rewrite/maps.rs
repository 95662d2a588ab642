//! `RewriteMap` lookups at run time: `txt:` and `rnd:` files (cached, re-read when
//! their modification time changes), the `int:` functions, and `prg:` programs.
//!
//! A `prg:` program is started the first time a process looks a key up in it (so each
//! child of prefork/worker/event has its own, started after the fork) and then kept:
//! one key per line goes to its standard input, one answer per line comes back on its
//! standard output (`NULL`: no value). A lock makes the exchanges one at a time, as
//! Apache's `RewriteLock` did. The program stays in the server's process group (signals
//! and test harnesses that end the group end it too); it is killed when its
//! configuration generation is dropped, and its standard input closing (the process
//! exiting) tells a well-behaved program to stop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::conf::rewrite::{IntMap, MapSource, RewriteMap};
use crate::log::Level;

use super::engine::MapAnswer;

/// A parsed `txt:`/`rnd:` file and the modification time it was read at.
struct TxtFile {
    mtime: Option<SystemTime>,
    entries: HashMap<String, String>,
}

/// A running `prg:` program.
struct Program {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run-time state of every map this process used, by map id.
#[derive(Default)]
struct State {
    files: HashMap<u64, Arc<TxtFile>>,
    programs: HashMap<u64, Arc<Mutex<Option<Program>>>>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(State::default))
}

/// Look `key` up in `map`. `may_block` is false on a thread that must not wait (a
/// `prg:` lookup then answers [`MapAnswer::Blocked`]).
pub fn lookup(map: &RewriteMap, key: &str, may_block: bool) -> MapAnswer {
    let found = match &map.source {
        MapSource::Int(f) => Some(int_map(*f, key)),
        MapSource::Txt(path) => txt_value(map.id, path, key),
        MapSource::Rnd(path) => txt_value(map.id, path, key).map(|v| random_choice(&v)),
        MapSource::Prg { program, args } => {
            if !may_block {
                return MapAnswer::Blocked;
            }
            prg_value(map.id, program, args, key)
        }
    };
    match found {
        Some(v) => MapAnswer::Value(v),
        None => MapAnswer::NotFound,
    }
}

/// The `int:` functions (`escape` is `ap_escape_uri`, `unescape` `ap_unescape_url`).
pub fn int_map(f: IntMap, key: &str) -> String {
    match f {
        IntMap::ToUpper => key.to_ascii_uppercase(),
        IntMap::ToLower => key.to_ascii_lowercase(),
        IntMap::Escape => crate::uri::encode_path(key),
        IntMap::Unescape => unescape(key),
    }
}

/// `%xx` decoded; a malformed escape is kept as written.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Parse a map file: `key value` per line, `#` comments and blank lines skipped; the
/// first occurrence of a key wins (Apache stops at the first match).
pub fn parse_txt(text: &str) -> HashMap<String, String> {
    let mut entries = HashMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        if let (Some(k), Some(v)) = (words.next(), words.next()) {
            entries
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
    }
    entries
}

fn txt_value(id: u64, path: &Path, key: &str) -> Option<String> {
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let cached = with_state(|s| s.files.get(&id).cloned());
    let file = match cached {
        Some(f) if f.mtime == mtime && mtime.is_some() => f,
        _ => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    crate::log::log(
                        "rewrite",
                        Level::Error,
                        None,
                        &format!(
                            "AH00657: mod_rewrite: can't open RewriteMap file {}: {e}",
                            path.display()
                        ),
                    );
                    return None;
                }
            };
            let f = Arc::new(TxtFile {
                mtime,
                entries: parse_txt(&text),
            });
            with_state(|s| s.files.insert(id, f.clone()));
            f
        }
    };
    file.entries.get(key).cloned()
}

/// One of the `|`-separated choices of a `rnd:` value.
fn random_choice(value: &str) -> String {
    let choices: Vec<&str> = value.split('|').collect();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = nanos ^ std::process::id().rotate_left(16);
    choices[(seed as usize) % choices.len()].to_string()
}

fn spawn(program: &Path, args: &[String]) -> std::io::Result<Program> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err(std::io::Error::other("no pipes to the map program"));
    };
    Ok(Program {
        child,
        stdin,
        stdout: BufReader::new(stdout),
    })
}

/// One exchange with a program: the key and a newline out, one line back.
fn ask(p: &mut Program, key: &str) -> std::io::Result<String> {
    p.stdin.write_all(key.as_bytes())?;
    p.stdin.write_all(b"\n")?;
    p.stdin.flush()?;
    let mut line = String::new();
    if p.stdout.read_line(&mut line)? == 0 {
        return Err(std::io::Error::other("the map program closed its output"));
    }
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Ok(line)
}

fn prg_value(id: u64, program: &Path, args: &[String], key: &str) -> Option<String> {
    // A newline in the key would desynchronise the line protocol (Apache refuses it).
    if key.contains(['\n', '\r']) {
        return None;
    }
    let slot = with_state(|s| s.programs.entry(id).or_default().clone());
    let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
    // One retry with a fresh program when the running one died.
    for _ in 0..2 {
        if guard.is_none() {
            match spawn(program, args) {
                Ok(p) => *guard = Some(p),
                Err(e) => {
                    crate::log::log(
                        "rewrite",
                        Level::Error,
                        None,
                        &format!(
                            "AH00654: mod_rewrite: could not start RewriteMap program {}: {e}",
                            program.display()
                        ),
                    );
                    return None;
                }
            }
        }
        let p = guard.as_mut()?;
        match ask(p, key) {
            Ok(answer) if answer == "NULL" => return None,
            Ok(answer) => return Some(answer),
            Err(_) => *guard = None,
        }
    }
    None
}

/// Forget the run-time state of maps no configuration uses any more (their programs
/// are stopped): called with the ids of the maps of the configuration in force.
pub fn retain(live: &[u64]) {
    let stale: Vec<Arc<Mutex<Option<Program>>>> = with_state(|s| {
        s.files.retain(|id, _| live.contains(id));
        let gone: Vec<u64> = s
            .programs
            .keys()
            .filter(|id| !live.contains(id))
            .copied()
            .collect();
        gone.iter().filter_map(|id| s.programs.remove(id)).collect()
    });
    drop(stale);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_functions() {
        assert_eq!(int_map(IntMap::ToUpper, "aBc"), "ABC");
        assert_eq!(int_map(IntMap::ToLower, "aBc"), "abc");
        assert_eq!(int_map(IntMap::Escape, "a b?"), "a%20b%3f");
        assert_eq!(int_map(IntMap::Unescape, "a%20b%3F%zz%"), "a b?%zz%");
    }

    #[test]
    fn txt_files_first_key_wins_comments_skipped() {
        let m = parse_txt("# c\n\n a  1 extra\nb 2\na 3\nlonely\n");
        assert_eq!(m.get("a").map(String::as_str), Some("1"));
        assert_eq!(m.get("b").map(String::as_str), Some("2"));
        assert!(!m.contains_key("lonely"));
    }

    #[test]
    fn rnd_picks_one_of_the_choices() {
        for _ in 0..20 {
            let c = random_choice("x|y|z");
            assert!(["x", "y", "z"].contains(&c.as_str()));
        }
    }

    #[test]
    fn txt_maps_are_reread_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, "k one\n").unwrap();
        let map = RewriteMap::new("m".into(), MapSource::Txt(path.clone()));
        assert_eq!(lookup(&map, "k", false), MapAnswer::Value("one".into()));
        assert_eq!(lookup(&map, "nope", false), MapAnswer::NotFound);
        std::fs::write(&path, "k two\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(lookup(&map, "k", false), MapAnswer::Value("two".into()));
    }

    #[test]
    fn prg_maps_answer_per_line_and_block_when_asked_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upper.sh");
        std::fs::write(
            &path,
            "#!/bin/sh\nwhile read k; do if [ \"$k\" = none ]; then echo NULL; else echo \"v-$k\"; fi; done\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let map = RewriteMap::new(
            "p".into(),
            MapSource::Prg {
                program: path,
                args: Vec::new(),
            },
        );
        assert_eq!(lookup(&map, "a", false), MapAnswer::Blocked);
        assert_eq!(lookup(&map, "a", true), MapAnswer::Value("v-a".into()));
        assert_eq!(lookup(&map, "b", true), MapAnswer::Value("v-b".into()));
        assert_eq!(lookup(&map, "none", true), MapAnswer::NotFound);
        assert_eq!(lookup(&map, "x\ny", true), MapAnswer::NotFound);
        retain(&[]);
    }
}
