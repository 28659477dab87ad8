//! Passwords and tokens. A [`Secret`] cannot be printed by accident: its
//! `Debug` says `<redacted>` and it has no `Display`; the only way to the
//! bytes is [`Secret::expose`], which the session uses to build a command
//! whose trace line is redacted.

use std::path::{Path, PathBuf};

/// A password or a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwrite in place so the freed allocation does not keep the secret.
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
    }
}

/// Where a secret comes from. Never from argv: command lines are visible to
/// every user of the machine through `ps` and end up in shell histories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The named environment variable.
    Env(String),
    /// The first line of the file (a trailing newline is not part of the secret).
    File(PathBuf),
    /// Asked for on the terminal, without echo.
    Prompt(String),
}

/// Why a secret could not be had: a usage problem (exit 3), never a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    EnvMissing(String),
    FileUnreadable { path: PathBuf, reason: String },
    Empty(String),
    NoTerminal,
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::EnvMissing(var) => {
                write!(f, "environment variable {var} is not set")
            }
            SecretError::FileUnreadable { path, reason } => {
                write!(f, "cannot read secret file {}: {reason}", path.display())
            }
            SecretError::Empty(from) => write!(f, "the secret from {from} is empty"),
            SecretError::NoTerminal => write!(
                f,
                "no password given and standard input is not a terminal: use --password-env or --password-file"
            ),
        }
    }
}

impl std::error::Error for SecretError {}

impl SecretSource {
    pub fn load(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretSource::Env(var) => {
                let v = std::env::var(var).map_err(|_| SecretError::EnvMissing(var.clone()))?;
                if v.is_empty() {
                    return Err(SecretError::Empty(format!("${var}")));
                }
                v
            }
            SecretSource::File(path) => return read_first_line(path),
            SecretSource::Prompt(prompt) => {
                use std::io::IsTerminal;
                if !std::io::stdin().is_terminal() {
                    return Err(SecretError::NoTerminal);
                }
                rpassword::prompt_password(prompt).map_err(|_| SecretError::NoTerminal)?
            }
        };
        Ok(Secret(value))
    }
}

fn read_first_line(path: &Path) -> Result<Secret, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::FileUnreadable {
        path: path.to_path_buf(),
        reason: e.kind().to_string(),
    })?;
    let line = text.split('\n').next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(SecretError::Empty(path.display().to_string()));
    }
    Ok(Secret(line.to_string()))
}

/// Replaces every occurrence of each secret in `text` with `<redacted>`.
/// The last line of defence before anything is printed or written: the
/// session already keeps secrets out of traces and evidence.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.0.len() >= 2 && out.contains(s.expose()) {
            out = out.replace(s.expose(), "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn file_secret_is_first_line_without_newline() {
        let dir = std::env::temp_dir().join(format!("imapprobe-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pw");
        std::fs::write(&p, "pa ss\"\\w\r\nsecond line\n").unwrap();
        let s = SecretSource::File(p.clone()).load().unwrap();
        assert_eq!(s.expose(), "pa ss\"\\w");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(
            SecretSource::File(p).load(),
            Err(SecretError::Empty(_))
        ));
        assert!(matches!(
            SecretSource::File(dir.join("missing")).load(),
            Err(SecretError::FileUnreadable { .. })
        ));
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let s = Secret::new("s3cr3t");
        assert_eq!(
            redact("a s3cr3t b s3cr3t", &[&s]),
            "a <redacted> b <redacted>"
        );
    }
}
