//! Body search in SQL, meaning what [`BodySearch::matches`] means: each `where` is a containment
//! test (`@>`) over `hookbox_body_json(body)`, which the `events_body_json` GIN index serves,
//! rechecked by the pointed-at value itself (containment alone would also take a value inside
//! an array); `contains` is a byte `position` in the raw body, which no index serves.
//!
//! A pointer with an all-digit segment may index an array, which containment cannot say by
//! position: such a `where` is only the value check, unindexed.

use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;

use crate::store::{BodySearch, Where};

/// A condition with one `$` per value, and the values.
pub type Condition = (String, Vec<Box<dyn ToSql + Sync + Send>>);

/// The conditions `search` adds to a listing (none when it is empty).
pub fn conditions(search: &BodySearch) -> Vec<Condition> {
    let mut out: Vec<Condition> = search.wheres.iter().map(pointer_equals).collect();
    if let Some(needle) = &search.contains {
        let value: Box<dyn ToSql + Sync + Send> = Box::new(needle.as_bytes().to_vec());
        out.push(("position($ IN body) > 0".into(), vec![value]));
    }
    out
}

const DOC: &str = "hookbox_body_json(body)";

fn pointer_equals(w: &Where) -> Condition {
    let path = w.segments();
    let accepted = w.accepted_values();
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let mut sql = String::from("(");
    let indexable = !path
        .iter()
        .any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    if indexable {
        let docs: Vec<String> = accepted.iter().map(|_| format!("{DOC} @> $")).collect();
        sql.push_str(&format!("({}) AND ", docs.join(" OR ")));
        values.extend(accepted.iter().map(|v| boxed(nested(&path, v.clone()))));
    }
    let alternatives = vec!["$"; accepted.len()].join(", ");
    sql.push_str(&format!("{DOC} #> $ IN ({alternatives}))"));
    values.push(Box::new(path));
    values.extend(accepted.into_iter().map(boxed));
    (sql, values)
}

fn boxed(v: Value) -> Box<dyn ToSql + Sync + Send> {
    Box::new(v)
}

/// `{"a":{"b":leaf}}` for the path `a/b`.
fn nested(path: &[String], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |inner, key| {
        let mut object = Map::new();
        object.insert(key.clone(), inner);
        Value::Object(object)
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_where_is_containment_plus_the_value_check() {
        let w = Where::parse("/data/object/customer=cus_Z").expect("valid");
        let (sql, values) = pointer_equals(&w);
        assert_eq!(
            sql,
            "((hookbox_body_json(body) @> $) AND hookbox_body_json(body) #> $ IN ($))"
        );
        assert_eq!(values.len(), 3);
        let doc = nested(&w.segments(), Value::String("cus_Z".into()));
        assert_eq!(
            doc,
            serde_json::json!({"data":{"object":{"customer":"cus_Z"}}})
        );
        let (sql, values) = pointer_equals(&Where::parse("/items/0/id=7").expect("valid"));
        assert_eq!(sql, "(hookbox_body_json(body) #> $ IN ($, $))");
        assert_eq!(values.len(), 3);
    }
}
