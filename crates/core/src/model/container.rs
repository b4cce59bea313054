//! A container as its cgroup path names it (`container.rs` reads them from cgroups).

/// The runtimes told apart by their cgroup names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    Docker,
    Containerd,
    CriO,
    Podman,
    Nspawn,
    /// A Kubernetes pod's cgroup whose container cgroup is not named after a known runtime.
    Kubernetes,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Podman => "podman",
            Runtime::Nspawn => "nspawn",
            Runtime::Kubernetes => "kubernetes",
        }
    }
}

/// A container, as its cgroup path names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Container {
    pub runtime: Runtime,
    /// The container id (64 hex digits for Docker, containerd, CRI-O and Podman), or the
    /// machine name for nspawn. Empty for a pod's own cgroup with no container below it.
    pub id: String,
    /// The Kubernetes pod's uid, when the cgroup is under kubepods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// The pod's namespace and name, from /var/log/pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
}

impl Container {
    /// The id as `docker ps` shortens it: 12 characters of a hex id; a name whole.
    pub fn short_id(&self) -> &str {
        if self.id.len() == 64 && is_hex(&self.id) { &self.id[..12] } else { &self.id }
    }

    /// How a table names it: `pod:NAMESPACE/NAME` for a known pod, `pod:UID` for another,
    /// else `RUNTIME:SHORT-ID`.
    pub fn label(&self) -> String {
        match (&self.pod_namespace, &self.pod_name, &self.pod_uid) {
            (Some(ns), Some(name), _) => format!("pod:{ns}/{name}"),
            (_, _, Some(uid)) => format!("pod:{uid}"),
            _ => format!("{}:{}", self.runtime.name(), self.short_id()),
        }
    }

    /// Whether the filter word `container = PREFIX` names it: a prefix of its id, its pod's
    /// name or `namespace/name`, or its label.
    pub fn matches(&self, prefix: &str) -> bool {
        !prefix.is_empty()
            && (self.id.starts_with(prefix)
                || self.pod_name.as_deref() == Some(prefix)
                || self.pod_uid.as_deref().is_some_and(|u| u.starts_with(prefix))
                || self
                    .pod_namespace
                    .as_deref()
                    .zip(self.pod_name.as_deref())
                    .is_some_and(|(ns, name)| prefix.strip_prefix(ns).and_then(|r| r.strip_prefix('/')) == Some(name))
                || self.label() == prefix)
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}
