//! Validation of the order body against the vendor's OpenAPI document itself.
//!
//! The committed document is compiled once with `jsonschema` (JSON Schema draft 4, the base of
//! OpenAPI 3.0 schema objects) with `$ref: #/components/schemas/cardRequestInstant` added at its
//! root, so every `$ref` resolves inside the document. The patterns are used exactly as written
//! (Unicode classes `\p{L}`, `\p{N}`, `\p{M}` and ranges such as `.-\\` included).

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::error::SandboxError;

/// The vendor document, as committed.
pub const OPENAPI_DOCUMENT: &str = include_str!("../openapi/inbound-physical-card-api.json");

/// Where `cardRequestInstant` lives in the document.
pub const INSTANT_SCHEMA_POINTER: &str = "#/components/schemas/cardRequestInstant";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Property(String),
    Index(usize),
}

/// Compiled `cardRequestInstant`.
pub(crate) struct InstantSchema {
    validator: Validator,
}

impl InstantSchema {
    pub fn load() -> Result<Self, SandboxError> {
        let mut document: Value = serde_json::from_str(OPENAPI_DOCUMENT)
            .map_err(|e| SandboxError::Schema(format!("not JSON: {e}")))?;
        let Some(root) = document.as_object_mut() else {
            return Err(SandboxError::Schema("not a JSON object".to_owned()));
        };
        root.insert("$ref".to_owned(), INSTANT_SCHEMA_POINTER.into());
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .build(&document)
            .map_err(|e| SandboxError::Schema(e.to_string()))?;
        Ok(Self { validator })
    }

    /// The first field in error as a path like `cardDesign.customLines[3]`, or `None` when the
    /// body is valid. "First" is deterministic: paths compared segment by segment, property
    /// names alphabetically and array indices numerically.
    pub fn first_error(&self, body: &Value) -> Option<String> {
        self.validator
            .iter_errors(body)
            .map(|error| {
                let mut path: Vec<Segment> = error
                    .instance_path()
                    .iter()
                    .map(|segment| match segment {
                        LocationSegment::Property(p) => Segment::Property(p.to_string()),
                        LocationSegment::Index(i) => Segment::Index(i),
                    })
                    .collect();
                if let ValidationErrorKind::Required { property } = error.kind() {
                    let name = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_owned);
                    path.push(Segment::Property(name));
                }
                path
            })
            .min()
            .map(|path| format_path(&path))
    }
}

fn format_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Property(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(p);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "distributionChannel": "INSTANT",
            "persoStation": "BRANCH-PS-01",
            "services": {"issuance": "CREATION"},
            "encryptedData": "x.y.z",
            "paymentApplication": {"config": "VIS_163"}
        })
    }

    #[test]
    fn valid_body_has_no_error_and_paths_are_formatted() {
        let s = InstantSchema::load().unwrap();
        assert_eq!(s.first_error(&valid()), None);
        let mut b = valid();
        b["cardDesign"] = json!({"customLines": ["ok", "ok", "ok", "bad*", "also*"]});
        assert_eq!(
            s.first_error(&b).as_deref(),
            Some("cardDesign.customLines[3]")
        );
    }

    #[test]
    fn first_error_is_deterministic_across_fields() {
        let s = InstantSchema::load().unwrap();
        let b = json!({"services": {"issuance": "a b"}, "cardDesign": {"memberId": " "}});
        // Alphabetical: cardDesign < distributionChannel (missing) < ... < services.
        assert_eq!(s.first_error(&b).as_deref(), Some("cardDesign.memberId"));
        let b = json!({"services": {}, "persoStation": 1});
        assert_eq!(s.first_error(&b).as_deref(), Some("distributionChannel"));
    }
}
