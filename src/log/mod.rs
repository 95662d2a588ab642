//! Error log and access log (placeholder until the logging module lands).

/// A compiled `LogFormat`.
#[derive(Clone, Debug, Default)]
pub struct LogFormat {}

/// `LogLevel` settings.
#[derive(Clone, Debug, Default)]
pub struct LogLevels {}
