//! tlsload: a new TLS connection per request, for bench/tls.sh.
//!
//!   tlsload -c 50 -d 10 [--resume] https://127.0.0.1:PORT/index.html
//!
//! `-c` threads, each running one connection at a time for `-d` seconds: TCP connect, TLS
//! handshake (rustls client, ring provider), `GET PATH` with `Connection: close`, the whole
//! response read up to the server's close. Without `--resume` every handshake is a full one
//! (no session cache, no tickets offered); with `--resume` each thread keeps the sessions
//! (TLS 1.3 tickets / TLS 1.2 session IDs or tickets) its server handed out and offers one on
//! every new connection, so all but the thread's first handshake are resumptions.
//!
//! The server's certificate is not validated (as `wrk`, `curl -k`), but the handshake
//! signature is checked as any client does (the cost of a full handshake on the client).
//!
//! Output: wrk's layout (parsed by bench/benchlib.py: one request = one connection), plus a
//! `Handshakes:` line that says how many were full and how many resumed. Only the given
//! address is contacted; every socket operation has a 5 s timeout.
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme,
    StreamOwned,
};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct NoCertCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Default)]
struct Stats {
    ok: u64,
    bytes: u64,
    non2xx: u64,
    err_connect: u64,
    err_read: u64,
    err_write: u64,
    err_timeout: u64,
    err_tls: u64,
    full: u64,
    hrr: u64,
    resumed: u64,
    lat_us: Vec<u32>,
    negotiated: Option<String>,
    cpu_ns: u64,
}

/// This thread's CPU time so far (the scheduler's run time; 0 if not available).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

enum Fail {
    Connect,
    Read,
    Write,
    Timeout,
    Tls,
}

fn classify(e: &std::io::Error, default: Fail) -> Fail {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Fail::Timeout,
        ErrorKind::InvalidData => Fail::Tls,
        _ => default,
    }
}

/// Whether `buf` holds a whole response (head + Content-Length bytes, or a head with no
/// length: read to the close).
fn complete(buf: &[u8]) -> Option<bool> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    for line in head.split("\r\n").skip(1) {
        if let Some(v) = line.strip_prefix("content-length:") {
            let n: usize = v.trim().parse().ok()?;
            return Some(buf.len() - end - 4 >= n);
        }
    }
    Some(false)
}

/// One connection: (handshake kind, bytes read, status 2xx/3xx, negotiated parameters).
fn one(
    cfg: &Arc<ClientConfig>,
    addr: &SocketAddr,
    name: &ServerName<'static>,
    req: &[u8],
    describe: bool,
) -> Result<(Option<HandshakeKind>, usize, bool, Option<String>), Fail> {
    let sock = TcpStream::connect_timeout(addr, IO_TIMEOUT).map_err(|e| classify(&e, Fail::Connect))?;
    let _ = sock.set_nodelay(true);
    let _ = sock.set_read_timeout(Some(IO_TIMEOUT));
    let _ = sock.set_write_timeout(Some(IO_TIMEOUT));
    let conn = ClientConnection::new(cfg.clone(), name.clone()).map_err(|_| Fail::Tls)?;
    let mut tls = StreamOwned::new(conn, sock);
    // the first write drives the handshake; the request goes with the client's Finished
    tls.write_all(req).map_err(|e| classify(&e, Fail::Write))?;
    tls.flush().map_err(|e| classify(&e, Fail::Write))?;
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 16384];
    loop {
        match tls.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // a close without close_notify after the whole response is not an error
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && complete(&buf) == Some(true) => break,
            Err(e) => return Err(classify(&e, Fail::Read)),
        }
    }
    if complete(&buf).is_none() {
        return Err(Fail::Read);
    }
    let ok = buf.starts_with(b"HTTP/1.1 2")
        || buf.starts_with(b"HTTP/1.1 3")
        || buf.starts_with(b"HTTP/1.0 2")
        || buf.starts_with(b"HTTP/1.0 3");
    let neg = if describe {
        let c = &tls.conn;
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        Some(format!(
            "{} {} {}",
            opt(c.protocol_version().map(|v| format!("{v:?}"))),
            opt(c.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite()))),
            opt(c.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name())))
        ))
    } else {
        None
    };
    Ok((tls.conn.handshake_kind(), buf.len(), ok, neg))
}

fn worker(cfg: Arc<ClientConfig>, addr: SocketAddr, name: ServerName<'static>, req: Vec<u8>, until: Instant) -> Stats {
    let mut st = Stats::default();
    while Instant::now() < until {
        let t0 = Instant::now();
        match one(&cfg, &addr, &name, &req, st.negotiated.is_none()) {
            Ok((kind, n, ok, neg)) => {
                st.ok += 1;
                st.bytes += n as u64;
                if !ok {
                    st.non2xx += 1;
                }
                match kind {
                    Some(HandshakeKind::Resumed) => st.resumed += 1,
                    Some(HandshakeKind::FullWithHelloRetryRequest) => st.hrr += 1,
                    _ => st.full += 1,
                }
                if neg.is_some() {
                    st.negotiated = neg;
                }
                st.lat_us.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Err(f) => {
                match f {
                    Fail::Connect => st.err_connect += 1,
                    Fail::Read => st.err_read += 1,
                    Fail::Write => st.err_write += 1,
                    Fail::Timeout => st.err_timeout += 1,
                    Fail::Tls => st.err_tls += 1,
                }
                std::thread::sleep(Duration::from_millis(10)); // no busy loop on a dead server
            }
        }
    }
    st.cpu_ns = thread_cpu_ns();
    st
}

fn dur(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.2}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn size(b: f64) -> String {
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}GB", b / 1024.0 / 1024.0 / 1024.0)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}MB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.2}KB", b / 1024.0)
    } else {
        format!("{b:.2}B")
    }
}

fn usage() -> ! {
    eprintln!("usage: tlsload [-c CONNS] [-d SECONDS] [--resume] https://HOST:PORT/PATH");
    std::process::exit(2);
}

fn main() {
    let mut conns = 50usize;
    let mut secs = 10.0f64;
    let mut resume = false;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-c" => conns = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "-d" => {
                secs = args
                    .next()
                    .and_then(|v| v.trim_end_matches('s').parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--resume" => resume = true,
            _ if a.starts_with("https://") => url = Some(a),
            _ => usage(),
        }
    }
    let url = url.unwrap_or_else(|| usage());
    let rest = &url["https://".len()..];
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| usage());
    let host = hostport.rsplit_once(':').map(|h| h.0).unwrap_or(hostport);
    // an IP address: no SNI is sent (the servers' default host answers)
    let name = ServerName::try_from(host.to_string()).unwrap_or_else(|_| usage());
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: tlsload\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let make_cfg = || {
        let mut cfg = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertCheck(provider.clone())))
            .with_no_client_auth();
        cfg.resumption = if resume {
            Resumption::in_memory_sessions(32)
        } else {
            Resumption::disabled()
        };
        Arc::new(cfg)
    };

    println!(
        "Running {secs}s test @ {url}\n  tlsload (rustls {} client, ring): {conns} threads, one connection each at a time, \
         a new connection per request, {}",
        "0.23",
        if resume { "sessions resumed" } else { "full handshakes" }
    );
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            // one session cache per thread: every thread is its own client
            let (cfg, name, req) = (make_cfg(), name.clone(), req.clone());
            std::thread::spawn(move || worker(cfg, addr, name, req, until))
        })
        .collect();
    let mut all = Stats::default();
    for h in handles {
        let s = h.join().expect("worker thread");
        all.ok += s.ok;
        all.bytes += s.bytes;
        all.non2xx += s.non2xx;
        all.err_connect += s.err_connect;
        all.err_read += s.err_read;
        all.err_write += s.err_write;
        all.err_timeout += s.err_timeout;
        all.err_tls += s.err_tls;
        all.full += s.full;
        all.hrr += s.hrr;
        all.resumed += s.resumed;
        all.lat_us.extend(s.lat_us);
        all.cpu_ns += s.cpu_ns;
        if all.negotiated.is_none() {
            all.negotiated = s.negotiated;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    all.cpu_ns += thread_cpu_ns();
    let mut lat = all.lat_us;
    lat.sort_unstable();
    let n = lat.len().max(1) as f64;
    let mean = lat.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (lat.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            0.0
        } else {
            lat[((p / 100.0) * (lat.len() - 1) as f64).round() as usize] as f64
        }
    };
    println!("  Thread Stats   Avg      Stdev     Max");
    println!(
        "    Latency   {}   {}   {}",
        dur(mean),
        dur(sd),
        dur(lat.last().copied().unwrap_or(0) as f64)
    );
    println!("  Latency Distribution");
    for p in [50.0, 75.0, 90.0, 99.0] {
        println!("     {p:.0}%   {}", dur(pct(p)));
    }
    println!("  {} requests in {:.2}s, {} read", all.ok, wall, size(all.bytes as f64));
    let errs = all.err_connect + all.err_read + all.err_write + all.err_timeout + all.err_tls;
    if errs > 0 {
        // TLS failures are counted as read errors in wrk's line, and shown on their own
        println!(
            "  Socket errors: connect {}, read {}, write {}, timeout {}",
            all.err_connect,
            all.err_read + all.err_tls,
            all.err_write,
            all.err_timeout
        );
        println!("  TLS errors: {}", all.err_tls);
    }
    if all.non2xx > 0 {
        println!("  Non-2xx or 3xx responses: {}", all.non2xx);
    }
    println!("Requests/sec: {:>10.2}", all.ok as f64 / wall);
    println!("Transfer/sec: {:>10}", size(all.bytes as f64 / wall));
    println!("Client CPU: {:.3}s (schedstat, all threads)", all.cpu_ns as f64 / 1e9);
    println!(
        "Handshakes: full {} resumed {} hello-retry {}; {}",
        all.full,
        all.resumed,
        all.hrr,
        all.negotiated.as_deref().unwrap_or("-")
    );
}
