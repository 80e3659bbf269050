//! One SIPp run of the load scenario against the call service, and what it leaves behind: its
//! exit status, its statistics file (calls created, succeeded, failed, most up at once), the
//! INVITE → 200 OK time of every call (`-trace_rtt`), the first lines of its error log, and the
//! CPU time it used (our `cutime + cstime` once it has been waited for).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The caller every SIPp call plays (kept with the other scenarios so that it is read there).
pub(super) const SCENARIO: &str = include_str!("../../../telephony/tests/sipp/load_ivr.xml");
const SCENARIO_FILE: &str = "load_ivr.xml";

/// How SIPp places calls: `-r rate -l limit -m calls`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    pub rate: u32,
    pub limit: u32,
    pub calls: u32,
}

pub(super) struct Outcome {
    /// SIPp's exit code: 0 when every call succeeded, 1 when some failed.
    pub exit_code: Option<i32>,
    pub wall: Duration,
    pub created: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// The most calls SIPp had up at once, sampled every second.
    pub peak_current: u64,
    /// From sending the INVITE to receiving the 200 OK, per call.
    pub invite_to_200: Vec<Duration>,
    /// The first lines of SIPp's error log.
    pub errors: Vec<String>,
    /// SIPp's user + system CPU time.
    pub cpu: Duration,
}

/// Runs SIPp in a fresh folder `dir` until it has placed and ended every call. A SIPp that could
/// not bind the ports picked for it (taken by another process between the check and its start)
/// placed no call: it is started again on other ports, in a folder of its own, twice at most.
pub(super) async fn run(dir: &Path, target: SocketAddr, plan: Plan) -> anyhow::Result<Outcome> {
    let mut attempt = 0;
    loop {
        let folder = if attempt == 0 {
            dir.to_owned()
        } else {
            dir.join(format!("again-{attempt}"))
        };
        let outcome = run_once(&folder, target, plan).await?;
        let unbound = outcome.created == 0
            && outcome.exit_code != Some(0)
            && outcome
                .errors
                .iter()
                .any(|line| line.contains("Unable to bind"));
        if !unbound || attempt == 2 {
            return Ok(outcome);
        }
        attempt += 1;
    }
}

async fn run_once(dir: &Path, target: SocketAddr, plan: Plan) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(SCENARIO_FILE), SCENARIO).context("writing the SIPp scenario")?;
    let stat_file = dir.join("stat.csv");
    let port = free_udp_port()?;
    let media_port = free_media_ports()?;
    let timeout_s = plan.calls / plan.rate.max(1) + 120;
    let mut command = Command::new("sipp");
    command
        .current_dir(dir)
        .arg(target.to_string())
        .args(["-sf", SCENARIO_FILE, "-nostdin"])
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
        .args(["-r", &plan.rate.to_string(), "-l", &plan.limit.to_string()])
        .args(["-m", &plan.calls.to_string()])
        // A response or request that does not come within 10 s fails the call.
        .args([
            "-recv_timeout",
            "10000",
            "-timeout",
            &format!("{timeout_s}s"),
        ])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat_file)
        .args(["-trace_rtt", "-rtt_freq", "1", "-trace_err"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("sipp.out"))?)
        .stderr(std::fs::File::create(dir.join("sipp.err"))?);
    let before = super::cpu::now()?;
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || command.status())
        .await?
        .context("starting sipp (Debian package sip-tester)")?;
    let wall = started.elapsed();
    let after = super::cpu::now()?;
    let stats = read_stats(&stat_file).with_context(|| {
        format!(
            "reading SIPp's statistics; its output: {}",
            std::fs::read_to_string(dir.join("sipp.err")).unwrap_or_default()
        )
    })?;
    let invite_to_200 = match find(dir, "_rtt.csv")? {
        Some(path) => read_rtt(&path)?,
        None => Vec::new(),
    };
    let errors = match find(dir, "_errors.log")? {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .take(10)
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    Ok(Outcome {
        exit_code: status.code(),
        wall,
        created: stats.created,
        succeeded: stats.succeeded,
        failed: stats.failed,
        peak_current: stats.peak_current,
        invite_to_200,
        errors,
        cpu: after.children.saturating_sub(before.children),
    })
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A base for SIPp's media ports (`-mp`, it binds the base and the next ones at start) where
/// four ports are free now: SIPp's default 6000 is where the call tests' callers sit.
fn free_media_ports() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let base = free_udp_port()? & !1;
        let free = (0..4).all(|offset| {
            base.checked_add(offset)
                .is_some_and(|port| std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok())
        });
        if free {
            return Ok(base);
        }
    }
    bail!("no four free UDP ports in a row for SIPp's media")
}

/// The one file in `dir` whose name ends with `suffix` (SIPp names them after itself and its pid).
fn find(dir: &Path, suffix: &str) -> anyhow::Result<Option<PathBuf>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(suffix) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

#[derive(Debug, PartialEq, Eq)]
struct Stats {
    created: u64,
    succeeded: u64,
    failed: u64,
    peak_current: u64,
}

/// SIPp's `-trace_stat` file: `;`-separated, a header line, then one line per `-fd` period
/// with cumulative `(C)` columns; the last line is written when SIPp ends.
fn read_stats(path: &Path) -> anyhow::Result<Stats> {
    let text = std::fs::read_to_string(path)?;
    parse_stats(&text)
}

fn parse_stats(text: &str) -> anyhow::Result<Stats> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header: Vec<&str> = lines.next().context("an empty file")?.split(';').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("no column {name}"))
    };
    let (created, current) = (column("TotalCallCreated")?, column("CurrentCall")?);
    let (succeeded, failed) = (column("SuccessfulCall(C)")?, column("FailedCall(C)")?);
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(';').collect()).collect();
    let number = |row: &[&str], index: usize| -> u64 {
        row.get(index)
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0)
    };
    let Some(last) = rows.last() else {
        bail!("no statistics line");
    };
    Ok(Stats {
        created: number(last, created),
        succeeded: number(last, succeeded),
        failed: number(last, failed),
        peak_current: rows
            .iter()
            .map(|row| number(row, current))
            .max()
            .unwrap_or(0),
    })
}

/// SIPp's `-trace_rtt` file: `date_ms;response_time_ms;rtd_no` per call after a header.
fn read_rtt(path: &Path) -> anyhow::Result<Vec<Duration>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|line| line.split(';').nth(1)?.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_counts_the_calls_and_the_peak_is_the_most_up_at_once() {
        let text = "StartTime;CurrentCall;TotalCallCreated;SuccessfulCall(C);FailedCall(C);\n\
            t;40;50;10;0;\n\
            t;92;400;308;0;\n\
            t;0;1200;1198;2;\n";
        assert_eq!(
            parse_stats(text).unwrap(),
            Stats {
                created: 1200,
                succeeded: 1198,
                failed: 2,
                peak_current: 92
            }
        );
        assert!(parse_stats("StartTime;CurrentCall\n").is_err());
    }
}
