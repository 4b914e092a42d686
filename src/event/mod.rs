//! The domain every other part speaks: an event's state, the streams its deliveries are kept
//! under (`source` or `source:route`), event-type patterns and route filters. Imported by
//! config, store, routing, http and worker; it imports none of them.

pub mod origin;
mod route_filter;
mod state;
mod stream;
mod type_match;

pub use route_filter::RouteFilter;
pub use state::{State, UnknownState};
pub use stream::{is_of_source, split_stream, stream_name, ROUTE_SEPARATOR};
pub use type_match::TypeMatch;
