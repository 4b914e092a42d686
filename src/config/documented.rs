//! Keeps `docs/configuration.md` and the loader in step: the reference lists exactly the keys
//! the loader accepts. The accepted keys are read from the config structs themselves (the field
//! names serde would match), so a field added without a line in the reference fails here.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeOwned, Visitor};

use super::admin::{RawAdmin, RawToken};
use super::alerts::{NotifyConfig, RuleConfig};
use super::load::FileConfig;
use super::source::HmacConfig;
use super::{
    AcmeConfig, CommandConfig, ForwardConfig, RateLimit, ReconcileConfig, RouteConfig,
    ServerConfig, SourceConfig, StorageConfig, TlsConfig, WorkerConfig,
};

/// A deserializer that only records the field names a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl serde::de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The keys serde accepts in a `T` table (renames applied, skipped fields left out).
fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    assert!(
        !names.is_empty(),
        "{} is not a struct",
        std::any::type_name::<T>()
    );
    names
}

fn under(prefix: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{prefix}.{n}")).collect()
}

/// Every key of one handler table: `type` plus the options of each kind that has any.
fn handler_keys(prefix: &str) -> Vec<String> {
    let mut keys = vec![format!("{prefix}.type")];
    keys.extend(under(prefix, fields::<ForwardConfig>()));
    keys.extend(under(prefix, fields::<CommandConfig>()));
    keys
}

/// Every leaf key the loader accepts, written as the reference writes them.
fn accepted_keys() -> BTreeSet<String> {
    let mut keys = Vec::new();
    for table in fields::<FileConfig>() {
        match *table {
            "server" => keys.extend(server_keys()),
            "storage" => keys.extend(under("storage", fields::<StorageConfig>())),
            "worker" => keys.extend(under("worker", fields::<WorkerConfig>())),
            "admin" => keys.extend(admin_keys()),
            "sources" => keys.extend(source_keys("sources.<name>")),
            "alerts" => {
                keys.extend(under("alerts.notify[]", fields::<NotifyConfig>()));
                keys.extend(under("alerts.rules[]", fields::<RuleConfig>()));
            }
            other => panic!("new top-level table [{other}]: list its struct in accepted_keys"),
        }
    }
    keys.into_iter().collect()
}

fn server_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for key in fields::<ServerConfig>() {
        match *key {
            "tls" => {
                for key in fields::<TlsConfig>() {
                    match *key {
                        "acme" => keys.extend(under("server.tls.acme", fields::<AcmeConfig>())),
                        _ => keys.push(format!("server.tls.{key}")),
                    }
                }
            }
            _ => keys.push(format!("server.{key}")),
        }
    }
    keys
}

fn admin_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for key in fields::<RawAdmin>() {
        match *key {
            "tokens" => keys.extend(under("admin.tokens[]", fields::<RawToken>())),
            _ => keys.push(format!("admin.{key}")),
        }
    }
    keys
}

fn source_keys(prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for key in fields::<SourceConfig>() {
        let path = format!("{prefix}.{key}");
        match *key {
            "hmac" => keys.extend(under(&path, fields::<HmacConfig>())),
            "reconcile" => keys.extend(under(&path, fields::<ReconcileConfig>())),
            "handler" => keys.extend(handler_keys(&path)),
            "rate_limit" => keys.extend(under(&path, fields::<RateLimit>())),
            // A route's `handler` takes the same keys as a source's, documented once.
            "routes" => keys.extend(under(&format!("{path}[]"), fields::<RouteConfig>())),
            _ => keys.push(path),
        }
    }
    keys
}

/// The keys `docs/configuration.md` lists: backticked config paths in a table's first column.
fn documented_keys(doc: &str) -> BTreeSet<String> {
    const TABLES: [&str; 6] = [
        "server.", "storage.", "worker.", "admin.", "sources.", "alerts.",
    ];
    doc.lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split(" | ").next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|key| TABLES.iter().any(|t| key.starts_with(t)))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_configuration_reference_lists_exactly_the_keys_the_loader_accepts() {
    let doc = include_str!("../../docs/configuration.md");
    let documented = documented_keys(doc);
    let accepted = accepted_keys();
    let missing: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/configuration.md is out of step with the loader:\n  accepted but not documented: \
         {missing:?}\n  documented but not accepted: {unknown:?}"
    );
}
