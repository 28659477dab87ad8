//! The values probes talk about: a server response read loosely as IMAP
//! elements (atoms, strings, parenthesised lists, bracketed response codes),
//! the same reading of a probe's patterns, and matching one against the
//! other with variables.
//!
//! The reading is deliberately lenient — the strict verdict on a response is
//! the grammar's job; here a response only has to be taken apart well
//! enough to compare it with what the probe expects.

use std::collections::BTreeMap;

/// One element of a response or a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// An atom or a number, `NIL`, `\Seen`, `BODY[]<0>`; in patterns also
    /// `*` (any one element), `...` (any run) and `$name` / `$name...`.
    Atom(Vec<u8>),
    /// A quoted string or a literal, without its quoting.
    Str(Vec<u8>),
    /// `( … )`
    List(Vec<Elem>),
    /// `[ … ]`, a response code.
    Code(Vec<Elem>),
}

/// Variables bound so far: name (without `$`) to value.
pub type Env = BTreeMap<String, Elem>;

impl Elem {
    pub fn is_nil(&self) -> bool {
        matches!(self, Elem::Atom(a) if a.eq_ignore_ascii_case(b"NIL"))
    }

    /// The number an atom of digits stands for.
    pub fn number(&self) -> Option<u64> {
        match self {
            Elem::Atom(a) if !a.is_empty() && a.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(a).ok()?.parse().ok()
            }
            _ => None,
        }
    }

    /// The variable an atom names: `$uid` is `("uid", false)`, `$uids...`
    /// is `("uids", true)` (it takes the rest of the list).
    pub fn variable(&self) -> Option<(&str, bool)> {
        let Elem::Atom(a) = self else { return None };
        let name = std::str::from_utf8(a.strip_prefix(b"$")?).ok()?;
        let (name, rest) = match name.strip_suffix("...") {
            Some(n) => (n, true),
            None => (name, false),
        };
        valid_name(name).then_some((name, rest))
    }

    fn is_atom(&self, s: &str) -> bool {
        matches!(self, Elem::Atom(a) if a == s.as_bytes())
    }
}

/// Variable names: letters, digits, `_` and `-`, starting with a letter or `_`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl std::fmt::Display for Elem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = |f: &mut std::fmt::Formatter<'_>, items: &[Elem]| {
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{e}")?;
            }
            Ok(())
        };
        match self {
            Elem::Atom(a) => f.write_str(&String::from_utf8_lossy(a)),
            Elem::Str(s) if s.len() > 80 => write!(
                f,
                "\"{}…\" ({} bytes)",
                String::from_utf8_lossy(&s[..80]).escape_debug(),
                s.len()
            ),
            Elem::Str(s) => write!(f, "\"{}\"", String::from_utf8_lossy(s).escape_debug()),
            Elem::List(items) => {
                f.write_str("(")?;
                seq(f, items)?;
                f.write_str(")")
            }
            Elem::Code(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
        }
    }
}

/// Reads `input` as a sequence of elements. Never fails: what does not
/// fit is read as atoms, and unclosed lists end with the input.
pub fn read(input: &[u8]) -> Vec<Elem> {
    let mut lx = Lexer { s: input, i: 0 };
    lx.seq(None)
}

/// The elements of a server response after its `*` or its tag.
pub fn read_response(raw: &[u8]) -> Vec<Elem> {
    let start = raw
        .iter()
        .position(|&b| b == b' ')
        .map_or(raw.len(), |p| p + 1);
    read(&raw[start..])
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn seq(&mut self, close: Option<u8>) -> Vec<Elem> {
        let mut out = Vec::new();
        loop {
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\r' | b'\n' | b'\t') {
                self.i += 1;
            }
            let Some(&b) = self.s.get(self.i) else {
                return out;
            };
            if Some(b) == close {
                self.i += 1;
                return out;
            }
            match b {
                b'(' => {
                    self.i += 1;
                    out.push(Elem::List(self.seq(Some(b')'))));
                }
                b'[' => {
                    self.i += 1;
                    out.push(Elem::Code(self.seq(Some(b']'))));
                }
                b'"' => out.push(self.quoted()),
                b')' | b']' => {
                    self.i += 1;
                    out.push(Elem::Atom(vec![b]));
                }
                b'{' => match self.literal() {
                    Some(e) => out.push(e),
                    None => out.push(self.atom()),
                },
                _ => out.push(self.atom()),
            }
        }
    }

    fn quoted(&mut self) -> Elem {
        self.i += 1;
        let mut v = Vec::new();
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' if self.i < self.s.len() => {
                    v.push(self.s[self.i]);
                    self.i += 1;
                }
                _ => v.push(b),
            }
        }
        Elem::Str(v)
    }

    /// `{N}` or `{N+}`, CRLF, then N bytes.
    fn literal(&mut self) -> Option<Elem> {
        let rest = &self.s[self.i..];
        let close = rest.iter().position(|&b| b == b'}')?;
        let digits = rest[1..close].strip_suffix(b"+").unwrap_or(&rest[1..close]);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
        let body = close + 1 + 2;
        if !rest[close + 1..].starts_with(b"\r\n") || rest.len() < body + n {
            return None;
        }
        let v = rest[body..body + n].to_vec();
        self.i += body + n;
        Some(Elem::Str(v))
    }

    /// An atom; a `[` inside one (`BODY[HEADER.FIELDS (A B)]<0>`) runs to
    /// its matching `]`, spaces and all.
    fn atom(&mut self) -> Elem {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b'[' if self.i > start => depth += 1,
                b']' if depth > 0 => depth -= 1,
                b' ' | b'(' | b')' | b'\r' | b'\n' | b'"' | b']' | b'[' if depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        if self.i == start {
            // A lone `[` at the start of an atom cannot happen (seq takes it);
            // make progress whatever the byte.
            self.i += 1;
        }
        Elem::Atom(self.s[start..self.i].to_vec())
    }
}

/// Whether two values are the same: numbers by value, atoms without
/// regard to case (also against a string: `INBOX` and `"inbox"`), strings
/// byte for byte, lists element by element.
pub fn same(a: &Elem, b: &Elem) -> bool {
    match (a, b) {
        (Elem::Atom(_), Elem::Atom(_)) => match (a.number(), b.number()) {
            (Some(x), Some(y)) => x == y,
            _ => eq_ci(a, b),
        },
        (Elem::Atom(x), Elem::Str(y)) | (Elem::Str(y), Elem::Atom(x)) => x.eq_ignore_ascii_case(y),
        (Elem::Str(x), Elem::Str(y)) => x == y,
        (Elem::List(x), Elem::List(y)) | (Elem::Code(x), Elem::Code(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => false,
    }
}

fn eq_ci(a: &Elem, b: &Elem) -> bool {
    match (a, b) {
        (Elem::Atom(x), Elem::Atom(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// Matches a line pattern against a response: the pattern covers the
/// response's beginning (status text and extension data after it are
/// ignored). In a `FETCH` or `STATUS` response the item list is matched by
/// item name, in any order, extra items allowed. On success the bindings
/// are added to `env`; on failure `env` is untouched.
pub fn match_response(pat: &[Elem], val: &[Elem], env: &mut Env) -> bool {
    if let Some(k) = item_list_at(pat) {
        if matches!(val.get(k), Some(Elem::List(_))) {
            let mut e = env.clone();
            let ok = match_seq(&pat[..k], &val[..k], &mut e, false)
                && match_items(&pat[k], &val[k], &mut e)
                && match_seq(&pat[k + 1..], &val[k + 1..], &mut e, true);
            if ok {
                *env = e;
            }
            return ok;
        }
    }
    match_seq(pat, val, env, true)
}

/// Where a pattern has an item list: `N FETCH (…)`, `STATUS mbox (…)`.
fn item_list_at(pat: &[Elem]) -> Option<usize> {
    let list = matches!(pat.get(2), Some(Elem::List(_)));
    let fetch = pat
        .get(1)
        .is_some_and(|e| eq_ci(e, &Elem::Atom(b"FETCH".to_vec())));
    let status = pat
        .first()
        .is_some_and(|e| eq_ci(e, &Elem::Atom(b"STATUS".to_vec())));
    (list && (fetch || status)).then_some(2)
}

/// Pattern pairs `NAME value` against the response's pairs, by name.
fn match_items(pat: &Elem, val: &Elem, env: &mut Env) -> bool {
    let (Elem::List(ps), Elem::List(vs)) = (pat, val) else {
        return false;
    };
    let ps: Vec<&Elem> = ps.iter().filter(|p| !p.is_atom("...")).collect();
    ps.chunks(2).all(|pair| {
        let [name, want] = pair else { return false };
        vs.chunks(2).any(|v| {
            v.len() == 2 && eq_ci(name, &v[0]) && {
                let mut e = env.clone();
                let ok = match_one(want, &v[1], &mut e);
                if ok {
                    *env = e;
                }
                ok
            }
        })
    })
}

/// A sequence of patterns against a sequence of values; `prefix`: values
/// may go on after the patterns end.
fn match_seq(pat: &[Elem], val: &[Elem], env: &mut Env, prefix: bool) -> bool {
    let Some(p) = pat.first() else {
        return prefix || val.is_empty();
    };
    if p.is_atom("...") {
        if pat.len() == 1 {
            return true;
        }
        for k in 0..=val.len() {
            let mut e = env.clone();
            if match_seq(&pat[1..], &val[k..], &mut e, prefix) {
                *env = e;
                return true;
            }
        }
        return false;
    }
    if let Some((name, true)) = p.variable() {
        return bind(name, &Elem::List(val.to_vec()), env);
    }
    let Some(v) = val.first() else {
        return false;
    };
    let mut e = env.clone();
    if match_one(p, v, &mut e) && match_seq(&pat[1..], &val[1..], &mut e, prefix) {
        *env = e;
        true
    } else {
        false
    }
}

fn bind(name: &str, v: &Elem, env: &mut Env) -> bool {
    match env.get(name) {
        Some(bound) => same(bound, v),
        None => {
            env.insert(name.to_string(), v.clone());
            true
        }
    }
}

/// One pattern element against one value.
fn match_one(p: &Elem, v: &Elem, env: &mut Env) -> bool {
    if p.is_atom("*") {
        return true;
    }
    if let Some((name, _)) = p.variable() {
        return bind(name, v, env);
    }
    match (p, v) {
        (Elem::Atom(_), _) | (Elem::Str(_), Elem::Str(_)) => same(p, v),
        (Elem::List(ps), Elem::List(vs)) | (Elem::Code(ps), Elem::Code(vs)) => {
            match_seq(ps, vs, env, false)
        }
        _ => false,
    }
}

/// Every variable a pattern names.
pub fn variables(pat: &[Elem], out: &mut Vec<String>) {
    for p in pat {
        match p {
            Elem::List(x) | Elem::Code(x) => variables(x, out),
            _ => {
                if let Some((name, _)) = p.variable() {
                    out.push(name.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, resp: &str) -> Option<Env> {
        let mut env = Env::new();
        match_response(&read(pat.as_bytes()), &read(resp.as_bytes()), &mut env).then_some(env)
    }

    #[test]
    fn responses_are_read_as_elements() {
        let r = read(b"1 FETCH (UID 7 BODY[HEADER.FIELDS (A B)]<0> {3}\r\nabc FLAGS (\\Seen))");
        assert_eq!(r.len(), 3);
        let Elem::List(items) = &r[2] else { panic!() };
        assert_eq!(
            items[2],
            Elem::Atom(b"BODY[HEADER.FIELDS (A B)]<0>".to_vec())
        );
        assert_eq!(items[3], Elem::Str(b"abc".to_vec()));
        let r = read(b"OK [UIDVALIDITY 42] ok (sort of");
        assert_eq!(
            r[1],
            Elem::Code(vec![
                Elem::Atom(b"UIDVALIDITY".to_vec()),
                Elem::Atom(b"42".to_vec())
            ])
        );
        assert_eq!(
            read(b"LIST () \"/\" \"a\\\"b\"")[3],
            Elem::Str(b"a\"b".to_vec())
        );
    }

    #[test]
    fn patterns_bind_and_compare() {
        let env = m("$n EXISTS", "3 EXISTS").unwrap();
        assert_eq!(env["n"], Elem::Atom(b"3".to_vec()));
        assert!(m("* EXISTS", "3 RECENT").is_none());
        assert!(m("OK [UIDNEXT $u]", "OK [UIDNEXT 9] Predicted").is_some());
        assert!(m(
            "LIST (... \\Noselect ...) * $name",
            "LIST (\\HasChildren \\NoSelect) \".\" Foo"
        )
        .is_some());
        assert!(m(
            "LIST (... \\Noselect ...) * $name",
            "LIST (\\HasChildren) \".\" Foo"
        )
        .is_none());
        let env = m("SEARCH $uids...", "SEARCH 1 2 5").unwrap();
        assert_eq!(env["uids"].to_string(), "(1 2 5)");
        // Item lists by name, in any order, extra items allowed.
        assert!(m(
            "1 FETCH (FLAGS $f UID 4)",
            "1 FETCH (UID 4 RFC822.SIZE 9 FLAGS ())"
        )
        .is_some());
        assert!(m("1 FETCH (BODY[]<0> $b)", "1 FETCH (BODY[] \"x\")").is_none());
        assert!(m(
            "STATUS INBOX (UIDNEXT 5)",
            "STATUS \"INBOX\" (MESSAGES 2 UIDNEXT 5)"
        )
        .is_some());
        // A bound variable must be met again.
        let mut env = Env::new();
        env.insert("n".into(), Elem::Atom(b"3".to_vec()));
        assert!(!match_response(
            &read(b"$n EXISTS"),
            &read(b"4 EXISTS"),
            &mut env
        ));
        assert!(match_response(
            &read(b"$n EXISTS"),
            &read(b"003 EXISTS"),
            &mut env
        ));
        // Lists are whole unless they say `...`.
        assert!(m("FLAGS (\\Seen)", "FLAGS (\\Seen \\Draft)").is_none());
    }
}
