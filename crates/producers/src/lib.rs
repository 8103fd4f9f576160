//! Producers: the native events of AWS services turned into the ASFF findings that Security Hub
//! makes of them (research note `producers.md`). Pure functions, no I/O: the hub imports what
//! these return through the same path as BatchImportFindings.
//!
//! Each producer is one module with a converter (`convert(event, options)`) and its rules of
//! identity, severity and workflow; [`common`] holds what they share.

pub mod access_analyzer;
pub mod common;
pub mod config;
pub mod firewall_manager;
pub mod guardduty;
pub mod health;
pub mod inspector;
pub mod iot_device_defender;
pub mod macie;
pub mod patch_manager;
mod read;

use serde_json::{Map, Value};

/// The nine AWS services whose native events become findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Producer {
    Config,
    Health,
    GuardDuty,
    Macie,
    Inspector,
    AccessAnalyzer,
    IotDeviceDefender,
    FirewallManager,
    PatchManager,
}

impl Producer {
    pub const ALL: [Producer; 9] = [
        Producer::Config,
        Producer::Health,
        Producer::GuardDuty,
        Producer::Macie,
        Producer::Inspector,
        Producer::AccessAnalyzer,
        Producer::IotDeviceDefender,
        Producer::FirewallManager,
        Producer::PatchManager,
    ];

    /// The name on the command line (`findinghub convert --from <name>`).
    pub fn name(self) -> &'static str {
        match self {
            Producer::Config => "config",
            Producer::Health => "health",
            Producer::GuardDuty => "guardduty",
            Producer::Macie => "macie",
            Producer::Inspector => "inspector",
            Producer::AccessAnalyzer => "access-analyzer",
            Producer::IotDeviceDefender => "iot-device-defender",
            Producer::FirewallManager => "firewall-manager",
            Producer::PatchManager => "patch-manager",
        }
    }

    pub fn from_name(name: &str) -> Option<Producer> {
        Producer::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What the caller knows beyond the event itself.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// The Region to use when the event names none (files exported from an API list call).
    pub default_region: Option<String>,
    /// The account to use when the event names none.
    pub default_account: Option<String>,
    /// Macie sensitive-data findings flow only when the user has turned them on.
    pub macie_sensitive_data: bool,
}

/// A converted event: the findings to import, or the reason why the event makes none.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    Findings(Vec<Map<String, Value>>),
    NoFinding(String),
}

/// An event that cannot be converted because it is not what its producer sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{producer} event is malformed: {message}")]
pub struct ConvertError {
    pub producer: &'static str,
    pub message: String,
}

impl ConvertError {
    pub fn new(producer: Producer, message: impl Into<String>) -> ConvertError {
        ConvertError { producer: producer.name(), message: message.into() }
    }
}

impl Producer {
    /// Converts one native event (or API output) of this producer.
    pub fn convert(self, event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
        match self {
            Producer::Config => config::convert(event, options),
            Producer::Health => health::convert(event, options),
            Producer::GuardDuty => guardduty::convert(event, options),
            Producer::Macie => macie::convert(event, options),
            Producer::Inspector => inspector::convert(event, options),
            Producer::AccessAnalyzer => access_analyzer::convert(event, options),
            Producer::IotDeviceDefender => iot_device_defender::convert(event, options),
            Producer::FirewallManager => firewall_manager::convert(event, options),
            Producer::PatchManager => patch_manager::convert(event, options),
        }
    }

    /// Whether the event is one that this producer sends (by `source` and `detail-type` for
    /// EventBridge events, by shape for API outputs).
    pub fn accepts(self, event: &Value) -> bool {
        match self {
            Producer::Config => config::accepts(event),
            Producer::Health => health::accepts(event),
            Producer::GuardDuty => guardduty::accepts(event),
            Producer::Macie => macie::accepts(event),
            Producer::Inspector => inspector::accepts(event),
            Producer::AccessAnalyzer => access_analyzer::accepts(event),
            Producer::IotDeviceDefender => iot_device_defender::accepts(event),
            Producer::FirewallManager => firewall_manager::accepts(event),
            Producer::PatchManager => patch_manager::accepts(event),
        }
    }

    /// The producer whose event this is, for `--from auto` and `POST /events`.
    pub fn detect(event: &Value) -> Option<Producer> {
        Producer::ALL.into_iter().find(|p| p.accepts(event))
    }
}
