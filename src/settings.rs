//! Operator knobs kept in the database, with the environment as the default: the usage-suspension allowance
//! and window, and the retention periods. An admin changes them at run time (`/v1/admin/settings`, logged
//! there); the code that applies a knob reads it where it applies it (the allowance inside its transaction,
//! retention at each run), so every role sees a change at once without a restart. This module owns
//! `system_settings`.

pub mod model;
pub mod store;

use diesel_async::AsyncPgConnection;
pub use model::{Knob, SystemSettings};

use crate::config::Config;

/// The knobs in force: the environment's values, with the database's over them.
pub async fn current(conn: &mut AsyncPgConnection, config: &Config) -> diesel::QueryResult<SystemSettings> {
    Ok(SystemSettings::from_config(config).with(&store::overrides(conn).await?))
}
