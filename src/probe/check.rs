//! `check` and `skip-if` conditions: comparisons, shapes and order over
//! the variables a probe has bound.

use super::value::{same, Elem, Env};

/// An operand: a variable, a literal, or a function of a variable.
#[derive(Debug, Clone)]
pub enum Operand {
    Var(String),
    Lit(Elem),
    /// `len($v)`: elements of a list, bytes of a string or atom.
    Len(String),
    /// `max($v)` / `min($v)` of a list of numbers (0 when empty).
    Max(String),
    Min(String),
    /// `keys($v)`: the item names of a FETCH list, compared as a set.
    Keys(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The shapes `$v is SHAPE` knows.
pub const SHAPES: &[&str] = &[
    "number",
    "nz-number",
    "atom",
    "string",
    "nstring",
    "nil",
    "list",
    "list-or-nil",
    "addresses",
    "delimiter",
    "date-time",
];

#[derive(Debug, Clone)]
pub enum Cond {
    Compare(Operand, Op, Operand),
    Is(String, String),
    Ascending(String),
    Bound(String),
    Unbound(String),
}

/// Parses a condition: `A OP B`, `$v is SHAPE`, `ascending $v`,
/// `bound $v`, `unbound $v`.
pub fn parse(text: &str) -> Result<Cond, String> {
    let e = super::value::read(text.as_bytes());
    let var = |e: &Elem| -> Result<String, String> {
        e.variable()
            .filter(|(_, rest)| !rest)
            .map(|(n, _)| n.to_string())
            .ok_or_else(|| format!("expected a variable, found `{e}`"))
    };
    let word = |e: &Elem| match e {
        Elem::Atom(a) => String::from_utf8_lossy(a).to_ascii_lowercase(),
        _ => String::new(),
    };
    match e.as_slice() {
        [w, v] if word(w) == "ascending" => Ok(Cond::Ascending(var(v)?)),
        [w, v] if word(w) == "bound" => Ok(Cond::Bound(var(v)?)),
        [w, v] if word(w) == "unbound" => Ok(Cond::Unbound(var(v)?)),
        [v, w, shape] if word(w) == "is" => {
            let shape = word(shape);
            if !SHAPES.contains(&shape.as_str()) {
                return Err(format!(
                    "unknown shape `{shape}` (known: {})",
                    SHAPES.join(", ")
                ));
            }
            Ok(Cond::Is(var(v)?, shape))
        }
        _ => {
            let mut it = e.iter().peekable();
            let a = operand(&mut it, &var, &word)?;
            let op = match it.next().map(&word).as_deref() {
                Some("==") => Op::Eq,
                Some("!=") => Op::Ne,
                Some("<") => Op::Lt,
                Some("<=") => Op::Le,
                Some(">") => Op::Gt,
                Some(">=") => Op::Ge,
                _ => return Err(format!("`{text}`: expected A OP B (OP one of == != < <= > >=), `$v is SHAPE`, `ascending $v`, `bound $v` or `unbound $v`")),
            };
            let b = operand(&mut it, &var, &word)?;
            if it.next().is_some() {
                return Err(format!("`{text}`: something follows the condition"));
            }
            Ok(Cond::Compare(a, op, b))
        }
    }
}

fn operand<'a>(
    it: &mut std::iter::Peekable<std::slice::Iter<'a, Elem>>,
    var: &dyn Fn(&Elem) -> Result<String, String>,
    word: &dyn Fn(&Elem) -> String,
) -> Result<Operand, String> {
    let Some(first) = it.next() else {
        return Err("a condition is missing an operand".into());
    };
    if first.variable().is_some() {
        return Ok(Operand::Var(var(first)?));
    }
    let f = word(first);
    if matches!(f.as_str(), "len" | "max" | "min" | "keys") {
        if let Some(Elem::List(args)) = it.peek() {
            let [v] = args.as_slice() else {
                return Err(format!("{f}() takes one variable"));
            };
            let v = var(v)?;
            it.next();
            return Ok(match f.as_str() {
                "len" => Operand::Len(v),
                "max" => Operand::Max(v),
                "min" => Operand::Min(v),
                _ => Operand::Keys(v),
            });
        }
    }
    Ok(Operand::Lit(first.clone()))
}

/// Every variable a condition reads.
pub fn variables(c: &Cond) -> Vec<&str> {
    fn of(o: &Operand) -> Option<&str> {
        match o {
            Operand::Lit(_) => None,
            Operand::Var(v)
            | Operand::Len(v)
            | Operand::Max(v)
            | Operand::Min(v)
            | Operand::Keys(v) => Some(v.as_str()),
        }
    }
    match c {
        Cond::Compare(a, _, b) => [of(a), of(b)].into_iter().flatten().collect(),
        Cond::Is(v, _) | Cond::Ascending(v) | Cond::Bound(v) | Cond::Unbound(v) => vec![v],
    }
}

/// Whether the condition holds; `Err` says why it could not be decided
/// (an unbound variable, a number that is not one), which fails a check.
pub fn eval(c: &Cond, env: &Env) -> Result<bool, String> {
    let get = |v: &str| {
        env.get(v).ok_or_else(|| {
            format!("${v} was never bound (the response that binds it did not come)")
        })
    };
    match c {
        Cond::Bound(v) => Ok(env.contains_key(v)),
        Cond::Unbound(v) => Ok(!env.contains_key(v)),
        Cond::Is(v, shape) => Ok(is_shape(get(v)?, shape)),
        Cond::Ascending(v) => {
            let n = numbers(v, get(v)?)?;
            Ok(n.windows(2).all(|w| w[0] < w[1]))
        }
        Cond::Compare(a, op, b) => {
            let keys = matches!(a, Operand::Keys(_)) || matches!(b, Operand::Keys(_));
            let (x, y) = (value(a, env)?, value(b, env)?);
            let (x, y) = if keys { (sorted(x), sorted(y)) } else { (x, y) };
            match op {
                Op::Eq => Ok(same(&x, &y)),
                Op::Ne => Ok(!same(&x, &y)),
                _ => {
                    let num = |e: &Elem| e.number().ok_or_else(|| format!("`{e}` is not a number"));
                    let (x, y) = (num(&x)?, num(&y)?);
                    Ok(match op {
                        Op::Lt => x < y,
                        Op::Le => x <= y,
                        Op::Gt => x > y,
                        _ => x >= y,
                    })
                }
            }
        }
    }
}

fn sorted(e: Elem) -> Elem {
    match e {
        Elem::List(mut items) => {
            items.sort_by_key(|i| i.to_string().to_ascii_uppercase());
            Elem::List(items)
        }
        other => other,
    }
}

fn numbers(name: &str, e: &Elem) -> Result<Vec<u64>, String> {
    match e {
        Elem::List(items) => items
            .iter()
            .map(|i| {
                i.number()
                    .ok_or_else(|| format!("${name} holds `{i}`, not a number"))
            })
            .collect(),
        _ => Err(format!("${name} is `{e}`, not a list")),
    }
}

fn value(o: &Operand, env: &Env) -> Result<Elem, String> {
    let get = |v: &str| {
        env.get(v).cloned().ok_or_else(|| {
            format!("${v} was never bound (the response that binds it did not come)")
        })
    };
    let num = |n: u64| Elem::Atom(n.to_string().into_bytes());
    Ok(match o {
        Operand::Lit(e) => e.clone(),
        Operand::Var(v) => get(v)?,
        Operand::Len(v) => match get(v)? {
            Elem::List(x) | Elem::Code(x) => num(x.len() as u64),
            Elem::Atom(x) | Elem::Str(x) => num(x.len() as u64),
        },
        Operand::Max(v) => num(numbers(v, &get(v)?)?.into_iter().max().unwrap_or(0)),
        Operand::Min(v) => num(numbers(v, &get(v)?)?.into_iter().min().unwrap_or(0)),
        Operand::Keys(v) => match get(v)? {
            Elem::List(items) => Elem::List(
                items
                    .iter()
                    .step_by(2)
                    .map(|k| Elem::Atom(k.to_string().to_ascii_uppercase().into_bytes()))
                    .collect(),
            ),
            e => return Err(format!("${v} is `{e}`, not an item list")),
        },
    })
}

fn is_shape(e: &Elem, shape: &str) -> bool {
    let nstring = |e: &Elem| e.is_nil() || matches!(e, Elem::Str(_));
    match shape {
        "number" => e.number().is_some_and(|n| n <= u32::MAX as u64),
        "nz-number" => e.number().is_some_and(|n| n > 0 && n <= u32::MAX as u64),
        "atom" => matches!(e, Elem::Atom(_)) && !e.is_nil(),
        "string" => matches!(e, Elem::Str(_)),
        "nstring" => nstring(e),
        "nil" => e.is_nil(),
        "list" => matches!(e, Elem::List(_)),
        "list-or-nil" => e.is_nil() || matches!(e, Elem::List(_)),
        // env-from etc.: NIL or "(" 1*address ")", address = "(" 4 nstrings ")"
        "addresses" => {
            e.is_nil()
                || matches!(e, Elem::List(addrs) if !addrs.is_empty() && addrs.iter().all(|a| {
                    matches!(a, Elem::List(parts) if parts.len() == 4 && parts.iter().all(nstring))
                }))
        }
        // DQUOTE QUOTED-CHAR DQUOTE / nil
        "delimiter" => e.is_nil() || matches!(e, Elem::Str(s) if s.len() == 1),
        "date-time" => match e {
            Elem::Str(s) => {
                let quoted = [b"\"".as_slice(), s, b"\""].concat();
                crate::grammar::datetime::date_time(&quoted).is_ok_and(|(rest, _)| rest.is_empty())
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::value::read;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), read(v.as_bytes()).remove(0)))
            .collect()
    }

    #[test]
    fn conditions_hold_or_not() {
        let e = env(&[
            ("uids", "(1 3 9)"),
            ("exists", "3"),
            ("uidnext", "10"),
            ("all", "(UID 1 FLAGS () RFC822.SIZE 4)"),
            ("d", "\"/\""),
            ("date", "\"01-Jun-2024 10:00:00 +0000\""),
            ("from", "((\"Bob\" NIL \"bob\" \"example.test\"))"),
        ]);
        let t = |s: &str| eval(&parse(s).unwrap(), &e);
        assert_eq!(t("len($uids) == $exists"), Ok(true));
        assert_eq!(t("max($uids) < $uidnext"), Ok(true));
        assert_eq!(t("ascending $uids"), Ok(true));
        assert_eq!(t("keys($all) == (RFC822.SIZE UID FLAGS)"), Ok(true));
        assert_eq!(t("keys($all) == (UID FLAGS)"), Ok(false));
        assert_eq!(t("$d is delimiter"), Ok(true));
        assert_eq!(t("$date is date-time"), Ok(true));
        assert_eq!(t("$from is addresses"), Ok(true));
        assert_eq!(t("$exists is addresses"), Ok(false));
        assert_eq!(t("unbound $nope"), Ok(true));
        assert!(t("$nope == 1").is_err());
        assert!(parse("$x is blue").is_err());
        assert!(parse("$x ~ 1").is_err());
    }
}
