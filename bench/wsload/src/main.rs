//! wsload: the WebSocket side of bench/proxy.sh, std only.
//!
//!   wsload serve PORT                       echo backend on 127.0.0.1:PORT (a thread per
//!                                           connection; text and binary frames echoed)
//!   wsload echo -c 50 -d 10 -s 128 URL      load: -c connections, each sending a masked
//!                                           text frame of -s bytes and waiting for its
//!                                           echo, for -d seconds
//!   wsload idle -n 1000 -e 10 -d 5 URL      open -n tunnels and hold them; meanwhile -e
//!                                           more connections echo for -d seconds (latency
//!                                           while held); prints when the tunnels are open
//!                                           and waits for a line on stdin before closing
//!
//! URL: ws://127.0.0.1:PORT/path. Output of echo/idle: `Messages/sec: N`,
//! `Latency p50/p99/max: a b c us`, `Errors: N`. Only the given address is contacted;
//! every socket operation has a 10 s timeout.
use std::io::{BufRead, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IO_TIMEOUT: Duration = Duration::from_secs(10);
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn read_head(s: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
        if head.len() > 16384 {
            return Err(ErrorKind::InvalidData.into());
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Read one frame: (opcode, payload), unmasking if masked.
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    let mut len = (h[1] & 0x7f) as u64;
    if len == 126 {
        let mut b = [0u8; 2];
        s.read_exact(&mut b)?;
        len = u16::from_be_bytes(b) as u64;
    } else if len == 127 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b)?;
        len = u64::from_be_bytes(b);
    }
    let mut mask = [0u8; 4];
    if h[1] & 0x80 != 0 {
        s.read_exact(&mut mask)?;
    }
    if len > 16 << 20 {
        return Err(ErrorKind::InvalidData.into());
    }
    let mut p = vec![0u8; len as usize];
    s.read_exact(&mut p)?;
    if h[1] & 0x80 != 0 {
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((h[0] & 0x0f, p))
}

fn frame(op: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![0x80 | op];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n < 65536 => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

fn serve_conn(mut s: TcpStream) -> std::io::Result<()> {
    let head = read_head(&mut s)?;
    let key = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    if key.is_empty() {
        s.write_all(
            b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let accept = base64(&sha1(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    write!(
        s,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    loop {
        let (op, p) = read_frame(&mut s)?;
        match op {
            8 => {
                let _ = s.write_all(&frame(8, &p, false));
                return Ok(());
            }
            9 => s.write_all(&frame(10, &p, false))?,
            1 | 2 => s.write_all(&frame(op, &p, false))?,
            _ => {}
        }
    }
}

fn serve(port: u16) {
    let l = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for s in l.incoming().flatten() {
        let _ = s.set_nodelay(true);
        std::thread::spawn(move || serve_conn(s));
    }
}

fn parse_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("ws://").expect("ws:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    assert!(
        host.starts_with("127.") || host.starts_with("[::1]"),
        "loopback only"
    );
    (host.to_string(), path.to_string())
}

fn open(addr: &str, path: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let head = read_head(&mut s)?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(std::io::Error::other(format!(
            "no 101: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    Ok(s)
}

struct Stats {
    messages: AtomicU64,
    errors: AtomicU64,
    latencies: Mutex<Vec<u32>>,
}

fn echo_loop(
    addr: &str,
    path: &str,
    size: usize,
    until: Instant,
    stats: &Stats,
    stop: &AtomicBool,
) {
    let payload = vec![b'x'; size];
    let f = frame(1, &payload, true);
    let mut lat = Vec::new();
    let mut s = match open(addr, path) {
        Ok(s) => s,
        Err(_) => {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let ok =
            s.write_all(&f).is_ok() && matches!(read_frame(&mut s), Ok((1, p)) if p.len() == size);
        if !ok {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        stats.messages.fetch_add(1, Ordering::Relaxed);
    }
    let _ = s.write_all(&frame(8, &[3, 232], true));
    stats.latencies.lock().unwrap().extend(lat);
}

fn report(stats: &Stats, elapsed: Duration) {
    let n = stats.messages.load(Ordering::Relaxed);
    let mut l = stats.latencies.lock().unwrap().clone();
    l.sort_unstable();
    let q = |f: f64| {
        l.get(((l.len() as f64 * f) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!("Messages: {n}");
    println!("Messages/sec: {:.1}", n as f64 / elapsed.as_secs_f64());
    println!(
        "Latency p50/p99/max: {} {} {} us",
        q(0.5),
        q(0.99),
        l.last().copied().unwrap_or(0)
    );
    println!("Errors: {}", stats.errors.load(Ordering::Relaxed));
}

fn run_echo(addr: &str, path: &str, conns: usize, secs: u64, size: usize) {
    let stats = Arc::new(Stats {
        messages: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (a, p, s, st) = (
                addr.to_string(),
                path.to_string(),
                stats.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || echo_loop(&a, &p, size, until, &s, &st))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    report(&stats, start.elapsed());
}

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    if mode == "serve" {
        serve(
            args.get(2)
                .and_then(|p| p.parse().ok())
                .expect("wsload serve PORT"),
        );
        return;
    }
    let url = args.last().expect("URL");
    let (addr, path) = parse_url(url);
    let secs = arg(&args, "-d", 10u64);
    match mode {
        "echo" => run_echo(
            &addr,
            &path,
            arg(&args, "-c", 50),
            secs,
            arg(&args, "-s", 128),
        ),
        "idle" => {
            let n = arg(&args, "-n", 1000usize);
            let mut held = Vec::with_capacity(n);
            let mut failed = 0;
            for _ in 0..n {
                match open(&addr, &path) {
                    Ok(s) => held.push(s),
                    Err(_) => failed += 1,
                }
            }
            println!("Open: {} (failed {failed})", held.len());
            std::io::stdout().flush().unwrap();
            run_echo(
                &addr,
                &path,
                arg(&args, "-e", 10),
                secs,
                arg(&args, "-s", 128),
            );
            // Each held tunnel still echoes.
            let mut alive = 0;
            for s in held.iter_mut() {
                if s.write_all(&frame(1, b"still", true)).is_ok()
                    && matches!(read_frame(s), Ok((1, p)) if p == b"still")
                {
                    alive += 1;
                }
            }
            println!("Held still echoing: {alive}");
            println!("Holding; press enter to close");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
        }
        _ => eprintln!(
            "usage: wsload serve PORT | echo [-c N -d S -s BYTES] URL | idle [-n N -e N -d S] URL"
        ),
    }
}
