//! Benchmarks (`leadline bench …`), each printing its figures beside a baseline from the same run.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Lead list, filtered page and quick search over 1,000,000 leads through the HTTP handler,
    /// against the bare SQL for the same page.
    List {
        /// Number of leads to generate.
        #[arg(long, default_value_t = 1_000_000)]
        leads: usize,
        /// Also run on this PostgreSQL server (a fresh database is created and dropped).
        #[arg(long, env = "LEADLINE_BENCH_POSTGRES_URL")]
        postgres: Option<String>,
        /// Requests per measured case.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::List { .. } => anyhow::bail!("bench list: not written yet"),
    }
}
