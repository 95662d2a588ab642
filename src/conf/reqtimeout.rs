//! mod_reqtimeout's `RequestReadTimeout`: how long the TLS handshake, a request head and
//! a request body may take, each with an optional maximum and minimum rate
//! (`header=20-40,MinRate=500`: 20 s, one more second per 500 bytes received, never
//! more than 40 s in all).
//!
//! rhttpd has mod_reqtimeout built in, with Apache 2.4's defaults for the loaded module
//! (`handshake=0 header=20-40,MinRate=500 body=20,MinRate=500`, as in every Debian
//! installation); `header=0 body=0` turns it off.

use std::time::{Duration, Instant};

use rhttpd_config::{ConfigError, Directive};

use super::values::err;

/// One stage's limit. `initial == 0`: no limit for the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub initial: Duration,
    /// `None`: no maximum (the rate may extend the limit without bound).
    pub max: Option<Duration>,
    /// Bytes per second that buy one more second (0: none).
    pub min_rate: u32,
}

impl Stage {
    pub const OFF: Stage = Stage {
        initial: Duration::ZERO,
        max: None,
        min_rate: 0,
    };

    pub fn is_off(&self) -> bool {
        self.initial.is_zero()
    }

    /// The running deadline of this stage, started at `start`; `None` when off.
    pub fn start(&self, start: Instant) -> Option<ReadDeadline> {
        if self.is_off() {
            return None;
        }
        Some(ReadDeadline {
            at: start + self.initial,
            max: self.max.map(|m| start + m),
            min_rate: self.min_rate,
        })
    }
}

/// `RequestReadTimeout` of a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqTimeout {
    pub handshake: Stage,
    pub header: Stage,
    pub body: Stage,
}

impl Default for ReqTimeout {
    /// Apache 2.4's defaults when mod_reqtimeout is loaded.
    fn default() -> Self {
        ReqTimeout {
            handshake: Stage::OFF,
            header: Stage {
                initial: Duration::from_secs(20),
                max: Some(Duration::from_secs(40)),
                min_rate: 500,
            },
            body: Stage {
                initial: Duration::from_secs(20),
                max: None,
                min_rate: 500,
            },
        }
    }
}

/// A stage's deadline as bytes arrive (mod_reqtimeout's `extend_timeout`: each byte
/// moves it by `1 / MinRate` s, never past the maximum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadDeadline {
    pub at: Instant,
    pub max: Option<Instant>,
    pub min_rate: u32,
}

impl ReadDeadline {
    /// `n` bytes arrived.
    pub fn received(&mut self, n: usize) {
        if self.min_rate == 0 || n == 0 {
            return;
        }
        let extra = Duration::from_secs_f64(n as f64 / f64::from(self.min_rate));
        self.at += extra;
        if let Some(max) = self.max {
            self.at = self.at.min(max);
        }
    }

    /// Time left (zero once passed).
    pub fn remaining(&self, now: Instant) -> Duration {
        self.at.saturating_duration_since(now)
    }
}

/// `RequestReadTimeout [handshake=..] [header=..] [body=..]`, applied over `base`
/// (stages not named keep their value). Apache's wording for errors.
pub fn parse(d: &Directive, base: ReqTimeout) -> Result<ReqTimeout, ConfigError> {
    let mut out = base;
    for arg in &d.args {
        let (key, value) = arg.split_once('=').ok_or_else(|| {
            err(
                &d.location,
                format!("RequestReadTimeout: Invalid RequestReadTimeout parameter '{arg}'"),
            )
        })?;
        let key = key.to_ascii_lowercase();
        let stage = match key.as_str() {
            "handshake" => &mut out.handshake,
            "header" => &mut out.header,
            "body" => &mut out.body,
            _ => {
                return Err(err(
                    &d.location,
                    format!("RequestReadTimeout: Unknown RequestReadTimeout parameter '{key}'"),
                ));
            }
        };
        *stage =
            parse_stage(value).map_err(|m| err(&d.location, format!("RequestReadTimeout: {m}")))?;
    }
    Ok(out)
}

/// `20`, `20-40,MinRate=500`, `20,MinRate=500`, `0`.
fn parse_stage(value: &str) -> Result<Stage, String> {
    let (times, rate) = match value.split_once(',') {
        Some((t, r)) => (t, Some(r)),
        None => (value, None),
    };
    let secs = |s: &str| -> Result<u64, String> {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("Invalid RequestReadTimeout timeout value '{s}'"))
    };
    let (initial, max) = match times.split_once('-') {
        Some((a, b)) => (secs(a)?, Some(secs(b)?)),
        None => (secs(times)?, None),
    };
    let min_rate = match rate {
        None => 0,
        Some(r) => {
            let (k, v) = r
                .split_once('=')
                .ok_or_else(|| format!("Invalid RequestReadTimeout MinRate '{r}'"))?;
            if !k.trim().eq_ignore_ascii_case("minrate") {
                return Err(format!("Unknown RequestReadTimeout parameter '{k}'"));
            }
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("Invalid RequestReadTimeout MinRate '{v}'"))?
        }
    };
    if let Some(m) = max {
        if min_rate == 0 {
            return Err("Must set MinRate option if using timeout range".to_string());
        }
        if m <= initial {
            return Err("Maximum timeout must be larger than initial timeout".to_string());
        }
    }
    Ok(Stage {
        initial: Duration::from_secs(initial),
        max: max.map(Duration::from_secs),
        min_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rhttpd_config::Location;

    fn directive(args: &[&str]) -> Directive {
        Directive {
            name: "RequestReadTimeout",
            args: args.iter().map(|a| a.to_string()).collect(),
            location: Location::new("t.conf", 7),
        }
    }

    #[test]
    fn apache_syntax() {
        let t = parse(
            &directive(&["handshake=5", "header=10-30,MinRate=500", "body=0"]),
            ReqTimeout::default(),
        )
        .unwrap();
        assert_eq!(t.handshake.initial, Duration::from_secs(5));
        assert_eq!(t.header.max, Some(Duration::from_secs(30)));
        assert_eq!(t.header.min_rate, 500);
        assert!(t.body.is_off());
        let e = |a: &str| {
            parse(&directive(&[a]), ReqTimeout::default())
                .unwrap_err()
                .to_string()
        };
        assert!(e("header=10-20").contains("Must set MinRate"));
        assert!(e("foo=1").contains("Unknown RequestReadTimeout parameter"));
        assert!(e("header=x").contains("Invalid RequestReadTimeout timeout value"));
        assert!(e("header=20-10,MinRate=1").contains("larger than initial"));
    }

    #[test]
    fn the_rate_extends_up_to_the_maximum() {
        let t0 = Instant::now();
        let mut d = ReqTimeout::default().header.start(t0).unwrap();
        assert_eq!(d.at, t0 + Duration::from_secs(20));
        d.received(1000); // 2 s more at 500 B/s
        assert_eq!(d.at, t0 + Duration::from_secs(22));
        d.received(1_000_000);
        assert_eq!(d.at, t0 + Duration::from_secs(40));
        assert!(Stage::OFF.start(t0).is_none());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(args in proptest::collection::vec("[a-zA-Z=,0-9-]{0,24}", 0..4)) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = parse(&directive(&args), ReqTimeout::default());
        }

        #[test]
        fn deadlines_never_pass_the_maximum(init in 1u64..100, extra in 1u64..100, rate in 1u32..10_000, chunks in proptest::collection::vec(0usize..100_000, 0..20)) {
            let stage = Stage { initial: Duration::from_secs(init), max: Some(Duration::from_secs(init + extra)), min_rate: rate };
            let t0 = Instant::now();
            let mut d = stage.start(t0).unwrap();
            let mut last = d.at;
            for n in chunks {
                d.received(n);
                prop_assert!(d.at >= last);
                prop_assert!(d.at <= t0 + Duration::from_secs(init + extra));
                last = d.at;
            }
        }
    }
}
