//! Names that must never be confused with free text: parsed once where they enter (a
//! request path, a file name), so that code inside cannot hold a bad one.

use std::fmt;

/// A plugin's name: it becomes a file name (`<name>.wasm`, a folder of versions), so it is
/// kept to a safe alphabet: lowercase letters, digits, `-` and `_`, 1 to 64 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginName(String);

/// Why a text is not a plugin name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a plugin name: lowercase letters, digits, `-` and `_`, at most 64 characters"
)]
pub struct BadPluginName(pub String);

impl PluginName {
    /// The rule's pattern, as the API's schema states it.
    pub const PATTERN: &'static str = "^[a-z0-9_-]{1,64}$";

    pub fn parse(text: &str) -> Result<Self, BadPluginName> {
        let safe = !text.is_empty()
            && text.len() <= 64
            && (text.bytes())
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        match safe {
            true => Ok(PluginName(text.to_owned())),
            false => Err(BadPluginName(text.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PluginName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::PluginName;

    #[test]
    fn plugin_names_keep_to_a_file_safe_alphabet() {
        for good in ["standard-pricing", "b2b_lifecycle", "a", &"x".repeat(64)] {
            assert_eq!(PluginName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "..", "a/b", "Pricing", "a b", &"x".repeat(65)] {
            assert!(PluginName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
