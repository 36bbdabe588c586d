//! Trusted contacts (behind `FEATURE_SOCIAL_ESCALATION`): people an owner names who agree to be asked when a
//! reminder goes unanswered. A contact is reached by escalation tiers only after accepting the signed
//! invitation link; opting out (a link in every message) is honoured at once. The engine already resolves
//! only accepted contacts; this module owns the rows and their consent.

pub mod consent;
pub mod inviter;
pub mod routes;
pub mod service;
pub mod store;

use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// Every contacts route answers like an unknown route while the feature is off.
pub fn ensure_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config.feature_social_escalation {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::NotFound, "No such route."))
    }
}
