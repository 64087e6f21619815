//! Secrets typed by IT — a key file's passphrase, the token's PIN: asked on the terminal
//! without echo, or read from standard input for scripts (`--passphrase-stdin`, `--pin-stdin`).
//! They stay in memory that is wiped on drop and are never printed or logged.

use std::io::{BufRead, IsTerminal};

use zeroize::Zeroizing;

use crate::error::AdminError;

/// One line of standard input, without its line ending.
pub fn read_stdin_line(what: &str) -> Result<Zeroizing<Vec<u8>>, AdminError> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        AdminError::Failed(format!("cannot read the {what} from standard input: {e}"))
    })?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        return Err(AdminError::Usage(format!(
            "the {what} read from standard input is empty"
        )));
    }
    Ok(Zeroizing::new(trimmed.as_bytes().to_vec()))
}

/// The secret from standard input when `from_stdin`, else asked on the terminal (no echo);
/// without a terminal, a usage error naming the option to use.
pub fn secret(
    what: &str,
    prompt: &str,
    from_stdin: bool,
    option: &str,
) -> Result<Zeroizing<Vec<u8>>, AdminError> {
    if from_stdin {
        return read_stdin_line(what);
    }
    if !std::io::stdin().is_terminal() {
        return Err(AdminError::Usage(format!(
            "the {what} is needed and input is not a terminal: pass it on standard input with {option}"
        )));
    }
    let typed = Zeroizing::new(
        rpassword::prompt_password(prompt)
            .map_err(|e| AdminError::Failed(format!("cannot read the {what}: {e}")))?,
    );
    if typed.is_empty() {
        return Err(AdminError::Usage(format!("the {what} is empty")));
    }
    Ok(Zeroizing::new(typed.as_bytes().to_vec()))
}
