//! Configuration layered defaults → `leadline.toml` → `LEADLINE_*` environment → flags.
//! (clap reads the environment and flags; this reads the file beneath them.)

use std::path::Path;

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
    }

    #[test]
    fn a_named_missing_file_is_an_error_but_the_default_may_be_absent() {
        assert!(FileConfig::load(Some(Path::new("/nonexistent/leadline.toml"))).is_err());
    }
}
