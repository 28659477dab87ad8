//! The migration CSV: `EmailAddress,UserName,Password`, as Exchange
//! Online's IMAP migration reads it. Header names match in any case (and
//! with spaces, `_` or `-` inside); UTF-8 with or without a BOM; quoted
//! fields as RFC 4180 has them. A row is one line: a quote left open does
//! not swallow the rows after it, it makes its own row malformed.
//!
//! Passwords become [`Secret`]s as they are read and are never quoted in a
//! problem: a malformed row is described by its line and column only.

use crate::secret::Secret;
use std::collections::HashMap;

/// One user to probe.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line in the file (the header is line 1 or later).
    pub line: usize,
    pub email: Option<String>,
    /// The login name, passed through as written: `user*master` and
    /// `domain/admin/user` forms reach the server untouched.
    pub user: String,
    /// The authorization identity from `--authz-column`, when not empty.
    pub authz: Option<String>,
    pub password: Secret,
}

impl Row {
    /// The identity rows are compared by (duplicates, resume).
    pub fn key(&self) -> String {
        key(&self.user, self.authz.as_deref())
    }
}

/// Duplicates and resume compare user names without regard to case.
pub fn key(user: &str, authz: Option<&str>) -> String {
    match authz {
        Some(a) => format!("{}\u{0}{}", user.to_lowercase(), a.to_lowercase()),
        None => user.to_lowercase(),
    }
}

/// A row that is not run, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub line: usize,
    /// The user name when the row got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `malformed` or `duplicate`.
    pub kind: &'static str,
    pub message: String,
}

/// What the file holds.
#[derive(Debug, Default)]
pub struct Input {
    pub rows: Vec<Row>,
    pub problems: Vec<Problem>,
    /// The header as written.
    pub columns: Vec<String>,
}

/// Why the file cannot be used at all (a usage error: exit 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits one line into its fields under RFC 4180 quoting, strictly: a
/// field is either unquoted and free of `"`, or quoted, with `""` for a
/// quote, and followed by `,` or the end of the line. (The csv crate is
/// lenient, taking `ab"c` or `"a"b` as data, and a reader per line costs
/// more than the split; a line here never holds a line break, since a
/// migration CSV's fields are addresses, user names and passwords.)
fn fields(line: &str, header: &[String]) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    let (mut i, mut col) = (0usize, 1usize);
    let mut out = Vec::with_capacity(header.len().max(3));
    loop {
        if b.get(i) == Some(&b'"') {
            i += 1;
            let mut value = Vec::new();
            loop {
                match b.get(i) {
                    None => {
                        return Err(format!(
                            "{}: a quoted field is not closed before the end of the line",
                            column_name(header, col)
                        ))
                    }
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        value.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !matches!(b.get(i), None | Some(b',')) {
                return Err(format!(
                    "{}: text after the closing quote",
                    column_name(header, col)
                ));
            }
            // Only whole UTF-8 sequences were copied: quotes are ASCII.
            out.push(String::from_utf8_lossy(&value).into_owned());
        } else {
            let start = i;
            while let Some(&c) = b.get(i) {
                if c == b',' {
                    break;
                }
                if c == b'"' {
                    return Err(format!(
                        "{}: a quote inside an unquoted field (quote the whole field and double the quote)",
                        column_name(header, col)
                    ));
                }
                i += 1;
            }
            out.push(line[start..i].to_string());
        }
        if i >= b.len() {
            return Ok(out);
        }
        i += 1; // the comma
        col += 1;
    }
}

fn column_name(header: &[String], col: usize) -> String {
    match header.get(col - 1) {
        Some(name) if !name.trim().is_empty() => format!("column {col} ({})", name.trim()),
        _ => format!("column {col}"),
    }
}

/// The header's names, and where UserName, Password, EmailAddress and the
/// authorization column are.
type Header = (Vec<String>, usize, usize, Option<usize>, Option<usize>);

/// Reads the CSV. A missing required column, a UTF-16 file or a file with
/// no header is [`Unusable`]; anything wrong with a single row is a
/// [`Problem`] and the row is skipped.
pub fn read(bytes: &[u8], authz_column: Option<&str>) -> Result<Input, Unusable> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Unusable(
            "the CSV is UTF-16: save it as UTF-8 (Excel: \"CSV UTF-8\")".into(),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut input = Input::default();
    let mut header: Option<Header> = None;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (idx, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = idx + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            if header.is_none() {
                return Err(Unusable(format!(
                    "line {line_no}, the header, is not UTF-8: save the CSV as UTF-8"
                )));
            }
            input.problems.push(Problem {
                line: line_no,
                user: None,
                kind: "malformed",
                message: "not UTF-8: save the CSV as UTF-8".into(),
            });
            continue;
        };
        let Some((cols, user_i, pw_i, email_i, authz_i)) = &header else {
            let names = fields(line, &[]).map_err(|e| {
                Unusable(format!("line {line_no}, the header, cannot be read: {e}"))
            })?;
            let find = |want: &str| names.iter().position(|n| normalise(n) == normalise(want));
            let mut missing = Vec::new();
            let user_i = find("UserName");
            let pw_i = find("Password");
            if user_i.is_none() {
                missing.push("UserName");
            }
            if pw_i.is_none() {
                missing.push("Password");
            }
            let authz_i = match authz_column {
                Some(c) => {
                    let i = find(c);
                    if i.is_none() {
                        missing.push(c);
                    }
                    i
                }
                None => None,
            };
            if !missing.is_empty() {
                let hint = if names.len() == 1 && line.contains(';') {
                    " (the file seems to use ';' between fields: save it with commas)"
                } else {
                    ""
                };
                return Err(Unusable(format!(
                    "the CSV has no {} column (line {line_no} has: {}){hint}; a migration CSV starts with EmailAddress,UserName,Password",
                    missing.join(" or "),
                    names.join(", ")
                )));
            }
            let email_i = find("EmailAddress");
            input.columns = names.clone();
            header = Some((
                names,
                user_i.unwrap_or(0),
                pw_i.unwrap_or(0),
                email_i,
                authz_i,
            ));
            continue;
        };
        let malformed = |message: String, user: Option<String>| Problem {
            line: line_no,
            user,
            kind: "malformed",
            message,
        };
        let values = match fields(line, cols) {
            Ok(v) => v,
            Err(e) => {
                input.problems.push(malformed(e, None));
                continue;
            }
        };
        if values.len() < cols.len() {
            input.problems.push(malformed(
                format!(
                    "{} fields where the header has {}",
                    values.len(),
                    cols.len()
                ),
                None,
            ));
            continue;
        }
        if values[cols.len()..].iter().any(|v| !v.is_empty()) {
            input.problems.push(malformed(
                format!(
                    "{} fields where the header has {}",
                    values.len(),
                    cols.len()
                ),
                None,
            ));
            continue;
        }
        let user = values[*user_i].clone();
        if user.is_empty() {
            input
                .problems
                .push(malformed("UserName is empty".into(), None));
            continue;
        }
        let password = Secret::new(values[*pw_i].clone());
        if password.is_empty() {
            input
                .problems
                .push(malformed("Password is empty".into(), Some(user)));
            continue;
        }
        let optional = |i: &Option<usize>| {
            i.map(|i| values[i].clone())
                .filter(|v| !v.trim().is_empty())
        };
        let row = Row {
            line: line_no,
            email: optional(email_i),
            user,
            authz: optional(authz_i),
            password,
        };
        if let Some(first) = seen.get(&row.key()) {
            input.problems.push(Problem {
                line: line_no,
                user: Some(row.user.clone()),
                kind: "duplicate",
                message: format!(
                    "{}{} is already on line {first}: not probed twice",
                    row.user,
                    row.authz
                        .as_ref()
                        .map(|a| format!(" (for {a})"))
                        .unwrap_or_default()
                ),
            });
            continue;
        }
        seen.insert(row.key(), line_no);
        input.rows.push(row);
    }
    if header.is_none() {
        return Err(Unusable(
            "the CSV is empty: a migration CSV starts with EmailAddress,UserName,Password".into(),
        ));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> Vec<String> {
        vec!["EmailAddress".into(), "UserName".into(), "Password".into()]
    }

    #[test]
    fn quoting_is_checked_strictly() {
        assert_eq!(
            fields(r#"a,"b,c","d""e""#, &h()).unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert_eq!(fields(r#"a,,"#, &h()).unwrap(), ["a", "", ""]);
        assert_eq!(fields(r#""",é,"ü""""#, &h()).unwrap(), ["", "é", "ü\""]);
        let e = fields(r#"a,"b,c"#, &h()).unwrap_err();
        assert!(
            e.contains("column 2 (UserName)") && e.contains("not closed"),
            "{e}"
        );
        let e = fields(r#"a,b,c"d"#, &h()).unwrap_err();
        assert!(
            e.contains("column 3 (Password)") && e.contains("inside"),
            "{e}"
        );
        let e = fields(r#""a"x,b,c"#, &h()).unwrap_err();
        assert!(e.contains("after the closing quote"), "{e}");
    }

    #[test]
    fn header_in_any_case_with_bom_and_crlf() {
        let csv = "\u{feff}emailaddress,USERNAME,password\r\na@x,alice,\"p,w\"\"1\"\r\n";
        let input = read(csv.as_bytes(), None).unwrap();
        assert_eq!(input.rows.len(), 1);
        let r = &input.rows[0];
        assert_eq!((r.line, r.user.as_str()), (2, "alice"));
        assert_eq!(r.email.as_deref(), Some("a@x"));
        assert_eq!(r.password.expose(), "p,w\"1");
    }

    #[test]
    fn missing_column_is_unusable_and_names_what_is_there() {
        let e = read(b"EmailAddress,Login,Password\na,b,c\n", None).unwrap_err();
        assert!(e.0.contains("no UserName column"), "{e}");
        assert!(e.0.contains("EmailAddress, Login, Password"), "{e}");
        let e = read(b"UserName,Password\na,b\n", Some("Mailbox")).unwrap_err();
        assert!(e.0.contains("no Mailbox column"), "{e}");
    }

    #[test]
    fn bad_rows_are_reported_without_their_passwords_and_skipped() {
        let csv = "UserName,Password\nalice,pw1\nbob,\"open\ncarol,a\"b\ndave\nalice,other\nerin,\n,pw\nfrank,ok\n";
        let input = read(csv.as_bytes(), None).unwrap();
        let users: Vec<&str> = input.rows.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(users, ["alice", "frank"]);
        let lines: Vec<(usize, &str)> = input.problems.iter().map(|p| (p.line, p.kind)).collect();
        assert_eq!(
            lines,
            [
                (3, "malformed"),
                (4, "malformed"),
                (5, "malformed"),
                (6, "duplicate"),
                (7, "malformed"),
                (8, "malformed")
            ]
        );
        let all = format!("{:?}", input.problems);
        for secret in ["open", "a\"b", "other"] {
            assert!(!all.contains(secret), "{all}");
        }
    }

    #[test]
    fn admin_names_and_authz_column_pass_through() {
        let csv = "UserName,Password,Mailbox\nexample.org/admin/alice,pw,\nadmin,pw,bob\nalice*master,pw,\n";
        let input = read(csv.as_bytes(), Some("mailbox")).unwrap();
        let got: Vec<(&str, Option<&str>)> = input
            .rows
            .iter()
            .map(|r| (r.user.as_str(), r.authz.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("example.org/admin/alice", None),
                ("admin", Some("bob")),
                ("alice*master", None)
            ]
        );
    }

    #[test]
    fn utf16_is_unusable() {
        assert!(read(b"\xFF\xFEU\0", None).is_err());
    }
}
