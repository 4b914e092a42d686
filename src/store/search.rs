//! Searching events by what their body says: JSON-pointer equalities (`where`) and a substring
//! of the raw body (`contains`). Pure: the embedded walks call [`BodySearch::matches`] on each
//! body they read; PostgreSQL says the same in SQL (see `postgres::search`).
//!
//! A pointer's value matches `VALUE` when it is the JSON string `VALUE`, or a number, `true`,
//! `false` or `null` written exactly as `VALUE`; objects and arrays never match. A body that is
//! not JSON matches no `where`. A purged body matches nothing: it is not there to search.

/// Most `received` index entries one body search examines per call: reading bodies costs more
/// than reading records, so a search stops sooner than a plain listing and hands out a cursor.
pub const SEARCH_BUDGET: usize = 5_000;

/// One `where` condition: the JSON pointer (RFC 6901) and the value it must point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Where {
    /// The pointer, `/`-separated, starting with `/`.
    pub pointer: String,
    /// The text the pointed-at value must equal (see the module doc).
    pub value: String,
}

impl Where {
    /// Parses `POINTER=VALUE` (split at the first `=`); `None` names what is wrong.
    pub fn parse(text: &str) -> Result<Where, &'static str> {
        let (pointer, value) = text
            .split_once('=')
            .ok_or("where must be POINTER=VALUE, e.g. /data/object/customer=cus_Z")?;
        if !pointer.starts_with('/') {
            return Err("a where pointer starts with / (e.g. /data/object/customer)");
        }
        Ok(Where {
            pointer: pointer.to_owned(),
            value: value.to_owned(),
        })
    }

    /// The pointer's unescaped segments (`~1` is `/`, `~0` is `~`).
    pub fn segments(&self) -> Vec<String> {
        self.pointer
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect()
    }

    /// The JSON values that match: the string, and the scalar `value` spells if it is one.
    pub fn accepted_values(&self) -> Vec<serde_json::Value> {
        let mut values = vec![serde_json::Value::String(self.value.clone())];
        match serde_json::from_str::<serde_json::Value>(&self.value) {
            Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => values.push(v),
            Ok(serde_json::Value::Null) => values.push(serde_json::Value::Null),
            _ => {}
        }
        values
    }

    fn matches(&self, doc: &serde_json::Value) -> bool {
        use serde_json::Value;
        match doc.pointer(&self.pointer) {
            Some(Value::String(s)) => *s == self.value,
            // Compared as written: `Value == String` would only ever equal a JSON string.
            #[allow(clippy::cmp_owned)]
            Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                v.to_string() == self.value
            }
            _ => false,
        }
    }
}

/// What a body must say; empty matches every event (no body read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodySearch {
    /// Every one must match.
    pub wheres: Vec<Where>,
    /// A byte substring of the raw body.
    pub contains: Option<String>,
}

impl BodySearch {
    /// Whether there is anything to search for.
    pub fn is_empty(&self) -> bool {
        self.wheres.is_empty() && self.contains.is_none()
    }

    /// Whether `body` satisfies every condition.
    pub fn matches(&self, body: &[u8]) -> bool {
        if self.contains.as_ref().is_some_and(|c| !has(body, c)) {
            return false;
        }
        if self.wheres.is_empty() {
            return true;
        }
        // Parsing is the cost of a search: skip it when a `where` cannot match. A value only
        // a string can equal must then appear verbatim, unless the body escapes something.
        let escapes = body.contains(&b'\\');
        let absent = |w: &Where| w.accepted_values().len() == 1 && !has(body, &w.value);
        if !escapes && self.wheres.iter().any(absent) {
            return false;
        }
        let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        self.wheres.iter().all(|w| w.matches(&doc))
    }
}

/// Whether `needle` occurs in `body` (an empty one always does).
fn has(body: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty() || body.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(wheres: &[&str], contains: Option<&str>) -> BodySearch {
        BodySearch {
            wheres: wheres
                .iter()
                .map(|w| Where::parse(w).expect("valid"))
                .collect(),
            contains: contains.map(str::to_owned),
        }
    }

    #[test]
    fn where_compares_strings_and_scalars_as_written() {
        let body = br#"{"data":{"object":{"customer":"cus_Z","amount":100,"live":false,
            "tags":["a"],"a/b":"x","n":null}}}"#;
        assert!(search(&["/data/object/customer=cus_Z"], None).matches(body));
        assert!(!search(&["/data/object/customer=cus_Y"], None).matches(body));
        assert!(search(&["/data/object/amount=100"], None).matches(body));
        assert!(search(&["/data/object/live=false"], None).matches(body));
        assert!(search(&["/data/object/n=null"], None).matches(body));
        assert!(search(&["/data/object/tags/0=a"], None).matches(body));
        assert!(search(&["/data/object/a~1b=x"], None).matches(body));
        assert!(!search(&["/data/object/tags=a"], None).matches(body));
        assert!(!search(&["/data/missing=cus_Z"], None).matches(body));
        let both = ["/data/object/customer=cus_Z", "/data/object/amount=101"];
        assert!(!search(&both, None).matches(body), "all must match");
        assert!(!search(&["/a=b"], None).matches(b"not json a=b"));
        let escaped = br#"{"c":"cus\u005fZ"}"#;
        assert!(
            search(&["/c=cus_Z"], None).matches(escaped),
            "escapes are read"
        );
    }

    #[test]
    fn contains_is_a_raw_substring() {
        assert!(search(&[], Some("cus_Z")).matches(b"xx cus_Z yy"));
        assert!(!search(&[], Some("cus_Z")).matches(b"cus_"));
        assert!(search(&["/c=cus_Z"], Some("\"c\"")).matches(br#"{"c":"cus_Z"}"#));
        assert!(!search(&["/c=cus_Y"], Some("\"c\"")).matches(br#"{"c":"cus_Z"}"#));
    }

    #[test]
    fn where_parses_pointer_then_value() {
        let w = Where::parse("/a/b=x=y").expect("valid");
        assert_eq!((w.pointer.as_str(), w.value.as_str()), ("/a/b", "x=y"));
        assert_eq!(w.segments(), ["a", "b"]);
        assert!(Where::parse("a=b").is_err());
        assert!(Where::parse("/a").is_err());
        let values = Where::parse("/n=12").expect("valid").accepted_values();
        assert_eq!(values, [serde_json::json!("12"), serde_json::json!(12)]);
    }
}
