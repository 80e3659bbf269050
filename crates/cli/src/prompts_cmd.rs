//! `leadline prompts generate`: a first set of prompts for a flow, spoken by espeak-ng from the
//! texts beside the flow file (`9000.toml` → `9000.prompts.toml`).

use anyhow::Context;
use leadline_telephony::ivr::Flow;
use leadline_telephony::prompts::{self, PromptTexts};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum PromptsCommand {
    /// Speak every prompt of a flow with espeak-ng into <dir>/<language>/<prompt>.wav (8 kHz
    /// mono 16-bit); refuses, writing nothing, when a text is missing or a voice is not installed.
    Generate(GenerateArgs),
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The flow file, e.g. crates/telephony/flows/9000.toml.
    #[arg(long)]
    flow: PathBuf,
    /// Where the prompts go (the server's prompt_dir).
    #[arg(long)]
    dir: PathBuf,
    /// Languages to generate, comma-separated (cmn, en, yue); default: the flow's languages.
    #[arg(long, value_delimiter = ',')]
    languages: Vec<String>,
    /// The texts; default: the flow file's name with `.prompts.toml`.
    #[arg(long)]
    texts: Option<PathBuf>,
}

/// `9000.toml` → `9000.prompts.toml`, beside it.
fn texts_beside(flow: &Path) -> PathBuf {
    flow.with_extension("prompts.toml")
}

pub fn run(command: PromptsCommand) -> anyhow::Result<()> {
    let PromptsCommand::Generate(args) = command;
    let flow_text = std::fs::read_to_string(&args.flow)
        .with_context(|| format!("reading {}", args.flow.display()))?;
    let flow = Flow::parse(&flow_text).with_context(|| format!("in {}", args.flow.display()))?;
    let texts_path = args.texts.unwrap_or_else(|| texts_beside(&args.flow));
    let texts = std::fs::read_to_string(&texts_path)
        .with_context(|| format!("reading the prompt texts {}", texts_path.display()))?;
    let texts =
        PromptTexts::parse(&texts).with_context(|| format!("in {}", texts_path.display()))?;
    let languages = if args.languages.is_empty() {
        flow.languages.clone()
    } else {
        args.languages
    };
    let generated = prompts::generate(&flow, &texts, &args.dir, &languages)?;
    for (language, prompt, ms) in &generated.files {
        println!(
            "{}  {:.1} s",
            prompts::prompt_path(&args.dir, language, prompt).display(),
            *ms as f64 / 1000.0
        );
    }
    println!(
        "{} prompts of flow {} written in {} ({})",
        generated.files.len(),
        flow.number,
        languages.join(", "),
        args.dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_sit_beside_the_flow() {
        assert_eq!(
            texts_beside(Path::new("flows/9000.toml")),
            Path::new("flows/9000.prompts.toml")
        );
    }
}
