//! The floor's SIP registrar and proxy: Kamailio (Debian package) with the configuration the
//! project ships (`kamailio/kamailio.cfg`), its two addresses filled in. `leadline kamailio` and the
//! call tests start it through `Kamailio::command`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shipped configuration, with `{{LISTEN}}`, `{{CALL_SERVICE_IP}}` and
/// `{{CALL_SERVICE_PORT}}` to fill in.
pub const CONFIG_TEMPLATE: &str = include_str!("../kamailio/kamailio.cfg");

/// The Kamailio binary the Debian package installs.
pub const KAMAILIO: &str = "/usr/sbin/kamailio";

/// Where Kamailio listens (UDP) and where it sends calls for the IVR numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    pub listen: SocketAddr,
    pub call_service: SocketAddr,
}

impl Floor {
    /// The configuration file's text for this floor.
    pub fn config(&self) -> String {
        let listen = match self.listen {
            SocketAddr::V4(v4) => v4.to_string(),
            SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        };
        let service_ip = match self.call_service {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        CONFIG_TEMPLATE
            .replace("{{LISTEN}}", &listen)
            .replace("{{CALL_SERVICE_IP}}", &service_ip)
            .replace(
                "{{CALL_SERVICE_PORT}}",
                &self.call_service.port().to_string(),
            )
    }

    /// Writes `kamailio.cfg` into `run_dir` (created if missing) and returns the command that
    /// runs Kamailio in the foreground on it, logging to stderr (`-DD -E`), its runtime files in
    /// `run_dir` too.
    pub fn prepare(&self, run_dir: &Path) -> std::io::Result<Command> {
        std::fs::create_dir_all(run_dir)?;
        let config = run_dir.join("kamailio.cfg");
        std::fs::write(&config, self.config())?;
        let mut command = Command::new(KAMAILIO);
        command
            .arg("-DD")
            .arg("-E")
            .arg("-f")
            .arg(&config)
            .arg("-Y")
            .arg(run_dir)
            .arg("-w")
            .arg(run_dir)
            // Small floors: 32 MB of shared memory is ample for a few hundred seats.
            .args(["-m", "32", "-M", "4"]);
        Ok(command)
    }
}

/// The run directory `leadline kamailio` uses unless told otherwise.
pub fn default_run_dir(listen: SocketAddr) -> PathBuf {
    std::env::temp_dir().join(format!("leadline-kamailio-{}", listen.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_addresses_are_filled_in_and_no_placeholder_is_left() {
        let floor = Floor {
            listen: "127.0.0.1:5060".parse().unwrap(),
            call_service: "127.0.0.1:5070".parse().unwrap(),
        };
        let config = floor.config();
        assert!(config.contains("#!substdef \"!LEADLINE_LISTEN!127.0.0.1:5060!g\""));
        assert!(config.contains("#!substdef \"!LEADLINE_CALL_SERVICE_IP!127.0.0.1!g\""));
        assert!(config.contains("#!substdef \"!LEADLINE_CALL_SERVICE_PORT!5070!g\""));
        assert!(!config.contains("{{"));
    }
}
