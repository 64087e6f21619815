//! What the counter journeys look at beyond single elements: the IPC traffic between the window
//! and Rust (to count the crossings of a card number), the visible text of a screen in a given
//! language (to find a word of the other language or a raw message key), real key presses, and
//! the layout of the work area.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::Value;

use crate::{BoxError, Desk};

/// Wraps `window.fetch`, which Tauri's IPC uses (`ipc://localhost/<command>`, `POST`, the
/// arguments as the body): `__TAURI_INTERNALS__.invoke` itself is a non-writable property and
/// the page freezes `Object.prototype`, but `fetch` is looked up at each call. A call that
/// fell back to `postMessage` would not be seen: the journeys check that their commands were.
const RECORD_IPC: &str = r#"
if (!window.__deskIpcLog) {
  const log = [];
  const original = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = String(input && input.url ? input.url : input);
    if (url.startsWith("ipc:") || url.startsWith("http://ipc.localhost")) {
      let body = "";
      const data = init && init.body;
      if (typeof data === "string") body = data;
      else if (data instanceof ArrayBuffer) body = new TextDecoder().decode(data);
      else if (data && data.buffer instanceof ArrayBuffer) body = new TextDecoder().decode(data);
      else if (data !== undefined && data !== null) body = String(data);
      log.push({ command: decodeURIComponent(url.replace(/^.*\/\/[^/]+\//, "")), body });
    }
    return original(input, init);
  };
  Object.defineProperty(window, "__deskIpcLog", { value: log });
}
return true;
"#;

/// One IPC call from the window to Rust.
#[derive(Clone, Debug)]
pub struct IpcCall {
    pub command: String,
    pub body: String,
}

impl Desk {
    /// Starts recording every IPC call the window makes from now on.
    pub async fn record_ipc(&self) -> Result<(), BoxError> {
        self.client.execute(RECORD_IPC, vec![]).await?;
        Ok(())
    }

    /// The IPC calls recorded since [`Desk::record_ipc`].
    pub async fn ipc_calls(&self) -> Result<Vec<IpcCall>, BoxError> {
        let value = self
            .client
            .execute("return window.__deskIpcLog || null;", vec![])
            .await?;
        let calls = value
            .as_array()
            .ok_or("the IPC recorder is not installed")?;
        Ok(calls
            .iter()
            .map(|c| IpcCall {
                command: c["command"].as_str().unwrap_or_default().to_owned(),
                body: c["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// The text a person sees in the window (hidden elements excluded).
    pub async fn visible_text(&self) -> Result<String, BoxError> {
        let value = self
            .client
            .execute("return document.body.innerText;", vec![])
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Presses Enter twice, `gap` apart, on whatever has the focus (real key events).
    pub async fn press_enter_twice(&self, gap: Duration) -> Result<(), BoxError> {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down {
                value: Key::Enter.into(),
            })
            .then(KeyAction::Up {
                value: Key::Enter.into(),
            })
            .then(KeyAction::Pause { duration: gap })
            .then(KeyAction::Down {
                value: Key::Enter.into(),
            })
            .then(KeyAction::Up {
                value: Key::Enter.into(),
            });
        self.client.perform_actions(keys).await?;
        Ok(())
    }

    /// Runs `script` and returns its JSON result.
    pub async fn eval(&self, script: &str) -> Result<Value, BoxError> {
        Ok(self.client.execute(script, vec![]).await?)
    }
}

/// A locale file of the window (`ui/src/locales/<language>.json`), flattened to key → text.
pub fn locale(language: &str) -> Result<Vec<(String, String)>, BoxError> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../ui/src/locales/{language}.json"));
    let tree: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut out = Vec::new();
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            _ => {}
        }
    }
    walk("", &tree, &mut out);
    Ok(out)
}

/// The phrases of `language`'s locale that the `other` language says differently: the pieces
/// of each message between its `{placeholders}`, of at least two words. Seeing one of them in
/// the `other` language's window means a text was left untranslated.
pub fn phrases_only_in(language: &str, other: &str) -> Result<BTreeSet<String>, BoxError> {
    let theirs: BTreeSet<String> = locale(other)?.into_iter().map(|(_, t)| t).collect();
    let mut phrases = BTreeSet::new();
    for (_, text) in locale(language)? {
        if theirs.contains(&text) {
            continue;
        }
        for piece in split_placeholders(&text) {
            let piece = piece
                .trim()
                .trim_matches(|c: char| c.is_ascii_punctuation() || c == '—');
            let piece = piece.trim();
            if piece.split_whitespace().count() >= 2 && !theirs.iter().any(|t| t.contains(piece)) {
                phrases.insert(piece.to_owned());
            }
        }
    }
    Ok(phrases)
}

/// The literal pieces of an ICU message (plural arms included), without its `{…}` parts.
fn split_placeholders(text: &str) -> Vec<String> {
    // Each piece with the brace depth it was written at: depth 1 is ICU syntax (an argument's
    // name, "count, plural, one", "other"), depth 0 and the plural arms (depth 2) are text.
    let mut pieces = vec![(0usize, String::new())];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                pieces.push((depth, String::new()));
            }
            '}' => {
                depth = depth.saturating_sub(1);
                pieces.push((depth, String::new()));
            }
            // Inside a plural arm ("one {# field needs}") the text is still the language's.
            '#' => pieces.push((depth, String::new())),
            _ if depth == 0 || !c.is_ascii_punctuation() => {
                if let Some((_, last)) = pieces.last_mut() {
                    last.push(c);
                }
            }
            _ => {}
        }
    }
    pieces
        .into_iter()
        .filter(|(depth, _)| *depth != 1)
        .map(|(_, p)| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The `section.key` ids of messages that show in `text` as themselves (a key missing in the
/// window's language shows its id).
pub fn raw_message_keys(text: &str) -> Result<Vec<String>, BoxError> {
    let keys: Vec<String> = locale("en")?.into_iter().map(|(k, _)| k).collect();
    Ok(keys
        .into_iter()
        .filter(|k| text.contains(k.as_str()))
        .collect())
}

/// The phrases of `phrases` that `text` contains, except those in `allowed`.
pub fn found_phrases(text: &str, phrases: &BTreeSet<String>, allowed: &[&str]) -> Vec<String> {
    phrases
        .iter()
        .filter(|p| text.contains(p.as_str()))
        .filter(|p| !allowed.iter().any(|a| a.contains(p.as_str())))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icu_messages_split_into_their_literal_pieces() {
        let pieces = split_placeholders(
            "{count, plural, one {# field needs} other {# fields need}} correcting.",
        );
        assert!(pieces.contains(&"field needs".to_owned()), "{pieces:?}");
        assert!(pieces.contains(&"correcting.".to_owned()), "{pieces:?}");
        assert!(!pieces.iter().any(|p| p.contains("plural")), "{pieces:?}");
        assert_eq!(
            split_placeholders("Checked {time} ({age})"),
            ["Checked", "(", ")"]
        );
    }

    #[test]
    fn english_only_phrases_exclude_what_spanish_says_the_same() {
        let phrases = phrases_only_in("en", "es").unwrap();
        assert!(phrases.contains("Order a card"), "{phrases:?}");
        assert!(!phrases.iter().any(|p| p == "CVV2"));
    }
}
