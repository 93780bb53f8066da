//! The package managers whose databases are read.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    Dpkg,
    Apk,
    Rpm,
    /// Python distributions (pip's RECORD files).
    #[serde(rename = "pip")]
    Python,
    Npm,
    Go,
}

impl Manager {
    /// The operating system's package managers (their files are the distribution's).
    pub fn is_system(self) -> bool {
        matches!(self, Manager::Dpkg | Manager::Apk | Manager::Rpm)
    }

    pub fn name(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
            Manager::Python => "pip",
            Manager::Npm => "npm",
            Manager::Go => "go",
        }
    }
}
