//! Configuration layered defaults → `leadline.toml` → `LEADLINE_*` environment → flags.
//! (clap reads the environment and flags; this reads the file beneath them.)

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

pub const DEFAULT_DATABASE: &str = "./leadline.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    /// Mark cookies Secure (when a proxy serves Leadline over HTTPS).
    pub secure_cookies: Option<bool>,
    /// Where this server keeps local copies of uploaded import files (default: beside a SQLite
    /// database file, `<file>.uploads`).
    pub upload_dir: Option<std::path::PathBuf>,
    /// The bearer token a metrics scraper presents to `/metrics` (admins need none).
    pub metrics_token: Option<String>,
    /// `leadline serve`'s limits, as in [`ServeLimits`].
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    pub exports_per_user: Option<usize>,
    pub exports_total: Option<usize>,
    pub export_stall_secs: Option<u64>,
    /// Where the call service listens (SIP over UDP); without it no SIP port is opened.
    pub sip_bind: Option<std::net::SocketAddr>,
    /// Kamailio, through which the call service rings queues' seats.
    pub sip_proxy: Option<std::net::SocketAddr>,
    /// The call service's prompts, `<dir>/<language>/<prompt>.wav`.
    pub prompt_dir: Option<std::path::PathBuf>,
}

/// How many connections and exports `leadline serve` holds, and how long it waits on a client;
/// each unset value takes the server's default (in brackets).
#[derive(Debug, Default, clap::Args)]
pub struct ServeLimits {
    /// Open connections at most [2000]; keep it under the open-file limit (`ulimit -n`).
    #[arg(long, env = "LEADLINE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers, and the longest an idle kept-alive
    /// connection stays open [20].
    #[arg(long, env = "LEADLINE_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds open requests may take to finish once the server is asked to stop [10].
    #[arg(long, env = "LEADLINE_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Lead exports one user may run at once [2].
    #[arg(long, env = "LEADLINE_EXPORTS_PER_USER")]
    pub exports_per_user: Option<usize>,
    /// Lead exports the server runs at once [16].
    #[arg(long, env = "LEADLINE_EXPORTS_TOTAL")]
    pub exports_total: Option<usize>,
    /// Seconds a download may go unread before its export ends and gives its place back [120].
    #[arg(long, env = "LEADLINE_EXPORT_STALL_SECS")]
    pub export_stall_secs: Option<u64>,
}

impl ServeLimits {
    /// Sets these limits (flags and environment), else the file's, on the server's state.
    pub fn apply(&self, file: &FileConfig, state: &mut leadline_web::AppState) {
        let c = &mut state.connections;
        if let Some(n) = self.max_connections.or(file.max_connections) {
            c.max_connections = n.max(1);
        }
        if let Some(s) = self.header_timeout_secs.or(file.header_timeout_secs) {
            c.header_read_timeout = Duration::from_secs(s.max(1));
        }
        if let Some(s) = self.shutdown_grace_secs.or(file.shutdown_grace_secs) {
            c.shutdown_grace = Duration::from_secs(s);
        }
        let per_user = self
            .exports_per_user
            .or(file.exports_per_user)
            .unwrap_or(leadline_web::api::exports::EXPORTS_PER_USER);
        let total = self
            .exports_total
            .or(file.exports_total)
            .unwrap_or(leadline_web::api::exports::EXPORTS_TOTAL);
        let stall = self.export_stall_secs.or(file.export_stall_secs).map_or(
            leadline_web::api::exports::EXPORT_STALL,
            Duration::from_secs,
        );
        state.exports = std::sync::Arc::new(
            leadline_web::api::exports::ExportSlots::new(per_user.max(1), total.max(1))
                .with_stall(stall),
        );
    }
}

impl FileConfig {
    /// Reads the named file, or `./leadline.toml` if present; a named file must exist.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (Path::new("leadline.toml").to_path_buf(), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(FileConfig::default())
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_are_read_and_unknown_keys_refused() {
        let c: FileConfig =
            toml::from_str("database_url = \"postgres://x@h/db\"\nbind = \"0.0.0.0:9000\"")
                .unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://x@h/db"));
        assert_eq!(c.bind.as_deref(), Some("0.0.0.0:9000"));
        assert!(toml::from_str::<FileConfig>("databse_url = \"typo\"").is_err());
        let c: FileConfig = toml::from_str("max_connections = 500\nexports_per_user = 1").unwrap();
        assert_eq!(c.max_connections, Some(500));
        assert_eq!(c.exports_per_user, Some(1));
        let c: FileConfig = toml::from_str("sip_bind = \"127.0.0.1:5070\"").unwrap();
        assert_eq!(c.sip_bind, Some("127.0.0.1:5070".parse().unwrap()));
        assert!(toml::from_str::<FileConfig>("sip_bind = \"not an address\"").is_err());
    }

    #[test]
    fn a_named_missing_file_is_an_error_but_the_default_may_be_absent() {
        assert!(FileConfig::load(Some(Path::new("/nonexistent/leadline.toml"))).is_err());
    }
}
