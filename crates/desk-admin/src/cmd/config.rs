//! `config check`, `config example`.

use clap::Subcommand;
use desk_config::{ConfigSources, ENV_PREFIX, Layer};

use crate::error::{AdminError, Outcome};
use crate::output::line;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration as the app loads it: lists the files read, the
    /// ISSUANCE_DESK__* variables applied and every problem (exit 3 when there is one).
    Check {
        /// Also print the effective configuration (JSON; public material only).
        #[arg(long)]
        show: bool,
    },
    /// Print the commented example configuration (every key, its default and its rules).
    Example,
}

pub fn run(command: &ConfigCommand) -> Outcome {
    match command {
        ConfigCommand::Check { show } => check(*show),
        ConfigCommand::Example => {
            line(desk_config::EXAMPLE_CONFIG.trim_end());
            Ok(())
        }
    }
}

fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::Machine => "machine-wide",
        Layer::User => "per-user",
    }
}

fn check(show: bool) -> Outcome {
    let sources = ConfigSources::from_process();
    let result = desk_config::Config::load(&sources);
    line("Configuration files (later ones win):");
    match &result {
        Ok(loaded) => {
            for file in &loaded.files {
                let state = if file.read { "read" } else { "not present" };
                line(format!(
                    "  {:<13} {}  ({state})",
                    layer_name(file.layer),
                    file.path.display()
                ));
            }
        }
        Err(_) => {
            for (layer, file) in [
                (Layer::Machine, &sources.machine_file),
                (Layer::User, &sources.user_file),
            ] {
                if let Some(file) = file {
                    let state = if file.path.exists() {
                        "present"
                    } else {
                        "not present"
                    };
                    line(format!(
                        "  {:<13} {}  ({state})",
                        layer_name(layer),
                        file.path.display()
                    ));
                }
            }
        }
    }
    let vars: Vec<&str> = sources
        .env_vars
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with(ENV_PREFIX))
        .collect();
    if vars.is_empty() {
        line(format!("Environment variables: none ({ENV_PREFIX}*)"));
    } else {
        line(format!("Environment variables: {}", vars.join(", ")));
    }
    match result {
        Ok(loaded) => {
            let c = &loaded.config;
            line(format!(
                "Environment: {} (issuer {})",
                c.environment,
                c.d1.issuer_id.as_deref().unwrap_or("-")
            ));
            line(format!(
                "Products: {}; stations: {}",
                c.products.len(),
                c.stations.len()
            ));
            if show {
                let json = serde_json::to_string_pretty(c).map_err(|e| {
                    AdminError::Failed(format!("cannot print the configuration: {e}"))
                })?;
                line("Effective configuration:");
                line(json);
            }
            line("OK: the configuration is valid.");
            Ok(())
        }
        Err(e) => Err(AdminError::Config(e.to_string())),
    }
}
