//! The knobs, their bounds (the same as the environment variables'), and the values in force.

use crate::config::Config;

/// A setting an admin may change at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    UsageSuspensionAllowancePerWindow,
    UsageSuspensionWindowDays,
    RetentionDeliveryDays,
    RetentionAuditDays,
}

impl Knob {
    pub const ALL: [Knob; 4] = [
        Knob::UsageSuspensionAllowancePerWindow,
        Knob::UsageSuspensionWindowDays,
        Knob::RetentionDeliveryDays,
        Knob::RetentionAuditDays,
    ];

    /// Its name in the API and its key in `system_settings`.
    pub fn key(self) -> &'static str {
        match self {
            Knob::UsageSuspensionAllowancePerWindow => "usageSuspensionAllowancePerWindow",
            Knob::UsageSuspensionWindowDays => "usageSuspensionWindowDays",
            Knob::RetentionDeliveryDays => "retentionDeliveryDays",
            Knob::RetentionAuditDays => "retentionAuditDays",
        }
    }

    pub fn parse(key: &str) -> Option<Knob> {
        Knob::ALL.into_iter().find(|knob| knob.key() == key)
    }

    /// The environment variable that sets its default.
    pub fn environment_variable(self) -> &'static str {
        match self {
            Knob::UsageSuspensionAllowancePerWindow => "USAGE_SUSPENSION_ALLOWANCE_PER_WINDOW",
            Knob::UsageSuspensionWindowDays => "USAGE_SUSPENSION_WINDOW_DAYS",
            Knob::RetentionDeliveryDays => "RETENTION_DELIVERY_DAYS",
            Knob::RetentionAuditDays => "RETENTION_AUDIT_DAYS",
        }
    }

    /// The smallest and largest value allowed, as for the environment variable.
    pub fn range(self) -> (i64, i64) {
        match self {
            Knob::UsageSuspensionAllowancePerWindow => (0, 1_000_000),
            Knob::UsageSuspensionWindowDays => (1, 365),
            Knob::RetentionDeliveryDays | Knob::RetentionAuditDays => (1, 36_500),
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Knob::UsageSuspensionAllowancePerWindow => {
                "deliveries sent per window while an account is usage-suspended (counted when sent)"
            }
            Knob::UsageSuspensionWindowDays => "length of the usage-suspension window, in days",
            Knob::RetentionDeliveryDays => "days the delivery log of closed episodes is kept",
            Knob::RetentionAuditDays => "days the audit trail, event log and admin action log are kept",
        }
    }

    fn index(self) -> usize {
        match self {
            Knob::UsageSuspensionAllowancePerWindow => 0,
            Knob::UsageSuspensionWindowDays => 1,
            Knob::RetentionDeliveryDays => 2,
            Knob::RetentionAuditDays => 3,
        }
    }
}

/// Every knob's value in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemSettings {
    values: [i64; 4],
}

impl SystemSettings {
    /// The environment's values (what the configuration read at start).
    pub fn from_config(config: &Config) -> Self {
        let mut values = [0; 4];
        for knob in Knob::ALL {
            values[knob.index()] = match knob {
                Knob::UsageSuspensionAllowancePerWindow => i64::from(config.usage_suspension_allowance_per_window),
                Knob::UsageSuspensionWindowDays => i64::from(config.usage_suspension_window_days),
                Knob::RetentionDeliveryDays => i64::from(config.retention_delivery_days),
                Knob::RetentionAuditDays => i64::from(config.retention_audit_days),
            };
        }
        SystemSettings { values }
    }

    /// These values with `stored` (key, value) over them; a key this build does not know (written by a newer
    /// one) is left alone.
    pub fn with(mut self, stored: &[(String, i64)]) -> Self {
        for (key, value) in stored {
            if let Some(knob) = Knob::parse(key) {
                self.set(knob, *value);
            }
        }
        self
    }

    pub fn get(&self, knob: Knob) -> i64 {
        self.values[knob.index()]
    }

    /// Sets `knob`, kept within its range (a stored value is checked when written; this guards the reader).
    pub fn set(&mut self, knob: Knob, value: i64) {
        let (min, max) = knob.range();
        self.values[knob.index()] = value.clamp(min, max);
    }

    /// The usage-suspension allowance as the engine counts it.
    pub fn allowance_per_window(&self) -> u32 {
        u32::try_from(self.get(Knob::UsageSuspensionAllowancePerWindow)).unwrap_or(u32::MAX)
    }

    pub fn days(&self, knob: Knob) -> chrono::Duration {
        chrono::Duration::days(self.get(knob))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_has_its_own_slot_and_name() {
        let mut indexes: Vec<usize> = Knob::ALL.iter().map(|k| k.index()).collect();
        indexes.dedup();
        assert_eq!(indexes, [0, 1, 2, 3]);
        for knob in Knob::ALL {
            assert_eq!(Knob::parse(knob.key()), Some(knob));
        }
        assert_eq!(Knob::parse("USAGE_SUSPENSION_WINDOW_DAYS"), None, "the API name, not the variable");
    }

    #[test]
    fn a_value_outside_the_range_is_kept_within_it() {
        let mut settings = SystemSettings { values: [3, 3, 90, 365] };
        settings.set(Knob::UsageSuspensionWindowDays, 10_000);
        assert_eq!(settings.get(Knob::UsageSuspensionWindowDays), 365);
        settings.set(Knob::UsageSuspensionAllowancePerWindow, -1);
        assert_eq!(settings.allowance_per_window(), 0);
    }
}
