//! One module per command group; shared helpers here.

pub mod config;
pub mod doctor;
mod it_advice;
pub mod journal;
pub mod ledger;
pub mod prompt;
pub mod secrets;
pub mod token;

use desk_config::{Config, ConfigSources, LoadedConfig};
use desk_secrets::SecretStore;

use crate::error::AdminError;

/// The effective configuration, as the app would load it (exit 3 on problems).
pub fn load_config() -> Result<LoadedConfig, AdminError> {
    Config::load(&ConfigSources::from_process()).map_err(|e| {
        AdminError::Config(format!(
            "{e}\nRun `issuance-desk-admin config check` for the files and variables read."
        ))
    })
}

/// The keychain entries of this configuration (namespace `<prefix>/<environment>/<issuerId>`).
pub fn secret_store(config: &Config, dev: bool) -> Result<SecretStore, AdminError> {
    order_workflow::Installation { development: dev }
        .secret_store(config)
        .map_err(|e| AdminError::Config(e.to_string()))
}

/// A card id from the command line: D1's pattern, and never something shaped like a card
/// number (the value is not echoed back).
pub fn card_id(value: &str) -> Result<d1_client::CardId, AdminError> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if digits >= 12
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return Err(AdminError::Usage(
            "--card-id looks like a card number: give the D1 cardId of the order (see `journal export`), never a PAN".into(),
        ));
    }
    d1_client::CardId::parse(value).map_err(|_| {
        AdminError::Usage(
            "--card-id must be a D1 cardId: 1 to 48 characters among A-Z a-z 0-9 _ -".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ids_are_checked_without_echoing_them() {
        assert!(card_id("card-1_A").is_ok());
        assert!(card_id(&"a".repeat(48)).is_ok());
        for bad in [
            "",
            "has space",
            &"a".repeat(49),
            "4000056655665556",
            "4000 0566 5566 5556",
        ] {
            let e = card_id(bad).unwrap_err();
            assert_eq!(e.code(), 2);
            if !bad.is_empty() {
                assert!(!e.to_string().contains(bad), "{e}");
            }
        }
    }
}
