//! The tools that talk to a running hookbox over HTTP: [`replay`] (fixtures signed afresh),
//! [`events`] (the admin API from the command line) and [`bench`] (a load generator). They
//! share one HTTP client ([`http`]) and one way of reading a base URL ([`target`]).

pub mod bench;
pub mod events;
pub mod http;
pub mod replay;
pub mod target;
pub(crate) mod usage;

pub use self::http::{Client, ClientError, Reply};
pub use self::target::{Target, TargetError};
