//! Hand-written SQL that Postgres plans once per connection instead of on every call.
//!
//! Diesel never caches `sql_query` statements (their text could be anything), so each call is parsed and
//! analysed and planned again. The engine's statements are constant text with bind parameters, so they
//! are safe to keep as named prepared statements in the connection's cache; `Prepared` says so. Each call
//! is still planned for its parameters (`plan_cache_mode=force_custom_plan`, see `connect.rs`); what the
//! cache saves is the parse and analysis, which cost about as much as planning.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A raw SQL query (`diesel::sql_query(..).bind(..)`) whose text never varies between calls.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // The cache is keyed by the SQL text and the bind types, so constant text is all it needs.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// `.prepared()` on a raw query: see [`Prepared`].
pub trait Prepare: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> Prepare for Q {}
