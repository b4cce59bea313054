//! A network namespace, as plain data (`netns.rs` finds them and enters them).

use std::path::PathBuf;

/// One network namespace and a way into it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Netns {
    /// The namespace's inode: `net:[INODE]`, unique on the host.
    pub inode: u64,
    /// Its name under /run/netns, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A process inside it (its /proc/PID/net is the namespace's /proc/net).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// A file that is the namespace (a bind mount, or /proc/PID/ns/net).
    #[serde(skip)]
    pub path: PathBuf,
    /// The container (or pod) whose namespace it is, from its processes' cgroups; filled in
    /// by the collector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<super::Container>,
}

impl Netns {
    /// How a table names it: its name, else its container's label, else `net:[INODE]`.
    pub fn label(&self) -> String {
        match (&self.name, &self.container) {
            (Some(name), _) => name.clone(),
            (None, Some(c)) => c.label(),
            (None, None) => format!("net:[{}]", self.inode),
        }
    }

    /// Whether the filter word `netns = WORD` names it: its name, its label, its inode, or
    /// `net:[INODE]`.
    pub fn matches(&self, word: &str) -> bool {
        self.name.as_deref() == Some(word)
            || self.label() == word
            || word.parse::<u64>() == Ok(self.inode)
            || word == format!("net:[{}]", self.inode)
    }
}
