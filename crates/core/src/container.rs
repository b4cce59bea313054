//! Which container a process or socket belongs to, read from its cgroup path alone: the
//! runtimes name their cgroups after the container (Docker `docker-<id>.scope` or
//! `/docker/<id>`, containerd and CRI-O under Kubernetes `kubepods…/pod<uid>/…`, Podman
//! `libpod-<id>`, systemd-nspawn `machine-<name>.scope`). No runtime API is asked, so it works
//! without a daemon and for every runtime alike. Pod names come from the directories the
//! kubelet keeps in /var/log/pods (`<namespace>_<name>_<uid>`), where the host has them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Where the kubelet keeps one log directory per pod: `<namespace>_<name>_<uid>`.
pub const POD_LOGS_DIR: &str = "/var/log/pods";

pub use crate::model::{Container, Runtime};

/// A container id: 64 lowercase hex digits (what every runtime here uses).
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// systemd's unit-name escaping: `\x2d` is '-'.
fn unescape_systemd(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\x") {
        out.push_str(&rest[..at]);
        let hex = rest.get(at + 2..at + 4);
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if b.is_ascii() => {
                out.push(char::from(b));
                rest = &rest[at + 4..];
            }
            _ => {
                out.push_str("\\x");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The container of a runtime-named cgroup component: `docker-<id>.scope`,
/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope` (and the same without
/// `.scope`, as the cgroupfs drivers name them). The runtimes' monitors (`crio-conmon-`,
/// `libpod-conmon-`) are not the container.
fn runtime_component(c: &str) -> Option<(Runtime, &str)> {
    let c = c.strip_suffix(".scope").unwrap_or(c);
    for (prefix, runtime) in [
        ("docker-", Runtime::Docker),
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
        ("libpod-", Runtime::Podman),
    ] {
        if let Some(id) = c.strip_prefix(prefix)
            && is_container_id(id)
        {
            return Some((runtime, id));
        }
    }
    None
}

/// The pod uid of a kubepods component: `pod<uid>` (cgroupfs) or
/// `kubepods-<class>-pod<uid_with_underscores>.slice` (systemd).
fn pod_component(c: &str) -> Option<String> {
    let c = c.strip_suffix(".slice").unwrap_or(c);
    let uid = c.rsplit_once("-pod").map(|(_, u)| u).or_else(|| c.strip_prefix("pod"))?;
    let uid = uid.replace('_', "-");
    (uid.len() >= 8 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then_some(uid)
}

/// The container a cgroup v2 (or v1) path names, if any. Pod names are not filled in here.
pub fn from_cgroup_path(path: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let kube = parts.iter().position(|p| p.starts_with("kubepods"));
    if let Some(k) = kube {
        let pod = parts[k..].iter().enumerate().find_map(|(i, p)| pod_component(p).map(|uid| (k + i, uid)));
        if let Some((at, uid)) = pod {
            let (runtime, id) = match parts.get(at + 1) {
                Some(c) => match runtime_component(c) {
                    Some((r, id)) => (r, id.to_string()),
                    // cgroupfs: the container's cgroup is its bare id (containerd or Docker).
                    None if is_container_id(c) => (Runtime::Containerd, (*c).to_string()),
                    None => (Runtime::Kubernetes, String::new()),
                },
                None => (Runtime::Kubernetes, String::new()),
            };
            return Some(Container { runtime, id, pod_uid: Some(uid), pod_namespace: None, pod_name: None });
        }
    }
    let plain = |runtime: Runtime, id: &str| Container {
        runtime,
        id: id.to_string(),
        pod_uid: None,
        pod_namespace: None,
        pod_name: None,
    };
    // The innermost runtime-named component: a container may make cgroups below its own
    // (Podman's `libpod-<id>.scope/container`), and a Docker-in-Docker one is the inner one.
    for (i, p) in parts.iter().enumerate().rev() {
        if let Some((runtime, id)) = runtime_component(p) {
            return Some(plain(runtime, id));
        }
        if is_container_id(p) && i > 0 {
            match parts[i - 1] {
                "docker" => return Some(plain(Runtime::Docker, p)),
                "libpod_parent" => return Some(plain(Runtime::Podman, p)),
                _ => {}
            }
        }
        if let Some(unit) = p.strip_suffix(".scope").and_then(|u| u.strip_prefix("machine-"))
            && i > 0
            && parts[i - 1] == "machine.slice"
        {
            return Some(plain(Runtime::Nspawn, &unescape_systemd(unit)));
        }
        if let Some(name) = p.strip_prefix("systemd-nspawn@").and_then(|u| u.strip_suffix(".service")) {
            return Some(plain(Runtime::Nspawn, &unescape_systemd(name)));
        }
    }
    None
}

/// The cgroup paths in a /proc/PID/cgroup text, the v2 one (`0::PATH`) first.
fn cgroup_file_paths(text: &str) -> Vec<&str> {
    let mut v2 = Vec::new();
    let mut v1 = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(hier), Some(_), Some(path)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if hier == "0" { v2.push(path) } else { v1.push(path) }
    }
    v2.extend(v1);
    v2
}

/// The container a /proc/PID/cgroup text names: the v2 path's, else a v1 hierarchy's (Docker
/// on a cgroup v1 host names its containers there).
pub fn from_proc_cgroup(text: &str) -> Option<Container> {
    cgroup_file_paths(text).into_iter().find_map(from_cgroup_path)
}

/// Pods by uid: (namespace, name), from /var/log/pods directory names.
pub fn pod_names(dir: &Path) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
        // Kubernetes names and namespaces never hold '_' (DNS labels), so the split is exact.
        let mut parts = name.splitn(3, '_');
        if let (Some(ns), Some(pod), Some(uid)) = (parts.next(), parts.next(), parts.next())
            && !ns.is_empty()
            && !pod.is_empty()
        {
            out.insert(uid.to_string(), (ns.to_string(), pod.to_string()));
        }
    }
    out
}

/// Labels processes and cgroups with their containers during one collection, reading each
/// process's cgroup file and the pod directory at most once.
pub struct Labeler {
    proc_root: std::path::PathBuf,
    pods_dir: std::path::PathBuf,
    pods: Option<HashMap<String, (String, String)>>,
    by_pid: HashMap<u32, Option<Arc<Container>>>,
    by_path: HashMap<String, Option<Arc<Container>>>,
    /// A capture's processes' /proc/PID/cgroup texts, read instead of /proc (`--from`).
    recorded: Option<HashMap<u32, String>>,
}

impl Labeler {
    pub fn new(proc_root: &Path) -> Labeler {
        Labeler {
            proc_root: proc_root.to_path_buf(),
            pods_dir: std::env::var_os("SOCKSCOPE_POD_LOGS").map_or_else(|| POD_LOGS_DIR.into(), Into::into),
            pods: None,
            by_pid: HashMap::new(),
            by_path: HashMap::new(),
            recorded: None,
        }
    }

    /// A labeler over what a capture recorded: each process's cgroup file, and the pods' names.
    pub fn recorded(cgroups: HashMap<u32, String>, pods: HashMap<String, (String, String)>) -> Labeler {
        Labeler { recorded: Some(cgroups), pods: Some(pods), ..Labeler::new(Path::new("/nonexistent")) }
    }

    /// The container of process `pid` (from its cgroup file), None for an ordinary process or
    /// one that is gone.
    pub fn of_pid(&mut self, pid: u32) -> Option<Arc<Container>> {
        if let Some(known) = self.by_pid.get(&pid) {
            return known.clone();
        }
        let text = match &self.recorded {
            Some(texts) => texts.get(&pid).cloned().unwrap_or_default(),
            None => crate::text::read_lines(self.proc_root.join(pid.to_string()).join("cgroup")).unwrap_or_default(),
        };
        let found = from_proc_cgroup(&text).map(|c| self.named(c));
        self.by_pid.insert(pid, found.clone());
        found
    }

    /// The container of a cgroup path (a socket's own cgroup, found from its id).
    pub fn of_path(&mut self, path: &str) -> Option<Arc<Container>> {
        if let Some(known) = self.by_path.get(path) {
            return known.clone();
        }
        let found = from_cgroup_path(path).map(|c| self.named(c));
        self.by_path.insert(path.to_string(), found.clone());
        found
    }

    /// One shared copy per container, with its pod's name filled in where the host has it.
    fn named(&mut self, mut c: Container) -> Arc<Container> {
        if let Some(uid) = &c.pod_uid {
            let pods = self.pods.get_or_insert_with(|| pod_names(&self.pods_dir));
            if let Some((ns, name)) = pods.get(uid) {
                c.pod_namespace = Some(ns.clone());
                c.pod_name = Some(name.clone());
            }
        }
        if let Some(same) = self.by_pid.values().chain(self.by_path.values()).flatten().find(|k| ***k == c) {
            return same.clone();
        }
        Arc::new(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b7e0d4c5b8a6f1e2d3c4b5a6978877665544332211009988776655aabb";

    fn id64() -> String {
        ID[..64].to_string()
    }

    fn label(path: &str) -> Option<(Runtime, String, Option<String>)> {
        from_cgroup_path(path).map(|c| (c.runtime, c.id, c.pod_uid))
    }

    #[test]
    fn each_runtime_layout_is_named() {
        let id = id64();
        assert_eq!(label(&format!("/system.slice/docker-{id}.scope")), Some((Runtime::Docker, id.clone(), None)));
        assert_eq!(label(&format!("/docker/{id}")), Some((Runtime::Docker, id.clone(), None)));
        assert_eq!(
            label(&format!("/machine.slice/libpod-{id}.scope/container")),
            Some((Runtime::Podman, id.clone(), None))
        );
        assert_eq!(label(&format!("/libpod_parent/{id}")), Some((Runtime::Podman, id.clone(), None)));
        assert_eq!(label(&format!("/system.slice/crio-{id}.scope")), Some((Runtime::CriO, id.clone(), None)));
        assert_eq!(
            label("/machine.slice/machine-web\\x2d1.scope/payload"),
            Some((Runtime::Nspawn, "web-1".into(), None))
        );
        assert_eq!(
            label("/machine.slice/systemd-nspawn@db.service/payload"),
            Some((Runtime::Nspawn, "db".into(), None))
        );
    }

    #[test]
    fn kubernetes_pods_in_both_layouts() {
        let id = id64();
        let uid = "8e1d6f0a-2b3c-4d5e-9f60-718293a4b5c6";
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{id}.scope",
            uid.replace('-', "_")
        );
        assert_eq!(label(&systemd), Some((Runtime::Containerd, id.clone(), Some(uid.into()))));
        let guaranteed = format!("/kubepods.slice/kubepods-pod{}.slice/crio-{id}.scope", uid.replace('-', "_"));
        assert_eq!(label(&guaranteed), Some((Runtime::CriO, id.clone(), Some(uid.into()))));
        let cgroupfs = format!("/kubepods/besteffort/pod{uid}/{id}");
        assert_eq!(label(&cgroupfs), Some((Runtime::Containerd, id.clone(), Some(uid.into()))));
        assert_eq!(label(&format!("/kubepods/pod{uid}")), Some((Runtime::Kubernetes, String::new(), Some(uid.into()))));
    }

    #[test]
    fn ordinary_cgroups_and_runtime_monitors_are_no_container() {
        let id = id64();
        for path in [
            "/",
            "/init.scope",
            "/user.slice/user-1000.slice/session-2.scope",
            "/system.slice/docker.service",
            "/system.slice/containerd.service",
            "/machine.slice",
            "/docker",
            "/docker/not-an-id",
            "/kubepods.slice/kubepods-burstable.slice",
        ] {
            assert_eq!(label(path), None, "{path}");
        }
        assert_eq!(label(&format!("/machine.slice/libpod-conmon-{id}.scope")), None);
        assert_eq!(label(&format!("/system.slice/crio-conmon-{id}.scope")), None);
        assert_eq!(label(&format!("/system.slice/docker-{}.scope", &id[..12])), None);
    }

    #[test]
    fn the_v2_path_is_read_first_then_v1() {
        let id = id64();
        let v1_docker = format!("12:pids:/docker/{id}\n1:name=systemd:/docker/{id}\n0::/\n");
        assert_eq!(from_proc_cgroup(&v1_docker).map(|c| c.runtime), Some(Runtime::Docker));
        let v2 = format!("0::/system.slice/libpod-{id}.scope/container\n");
        assert_eq!(from_proc_cgroup(&v2).map(|c| c.runtime), Some(Runtime::Podman));
        assert_eq!(from_proc_cgroup("0::/init.scope\n4:memory:/x\n"), None);
        assert_eq!(from_proc_cgroup("garbage"), None);
    }

    #[test]
    fn labels_and_filter_prefixes() {
        let mut c = from_cgroup_path(&format!("/docker/{}", id64())).unwrap();
        assert_eq!(c.label(), "docker:3f2a9c1b7e0d");
        assert!(c.matches("3f2a9c") && !c.matches("3f2b") && !c.matches(""));
        c.pod_uid = Some("8e1d6f0a-2b3c".into());
        assert_eq!(c.label(), "pod:8e1d6f0a-2b3c");
        c.pod_namespace = Some("shop".into());
        c.pod_name = Some("web-0".into());
        assert_eq!(c.label(), "pod:shop/web-0");
        assert!(c.matches("web-0") && c.matches("shop/web-0") && c.matches("8e1d") && !c.matches("shop/web"));
        let machine = from_cgroup_path("/machine.slice/machine-web\\x2d1.scope").unwrap();
        assert_eq!(machine.label(), "nspawn:web-1");
    }

    #[test]
    fn systemd_escapes_are_undone_and_bad_ones_kept() {
        assert_eq!(unescape_systemd("web\\x2d1"), "web-1");
        assert_eq!(unescape_systemd("a\\xzz"), "a\\xzz");
        assert_eq!(unescape_systemd("end\\x2"), "end\\x2");
    }

    proptest::proptest! {
        #[test]
        fn any_path_is_read_without_panicking(path in "[/a-z0-9_.@\\\\x-]{0,120}") {
            let _ = from_cgroup_path(&path);
            let _ = from_proc_cgroup(&path);
        }

        #[test]
        fn an_id_under_any_parents_is_found_whole(
            parents in proptest::collection::vec("[a-z][a-z0-9.-]{0,12}", 0..5),
            id in "[0-9a-f]{64}",
            runtime in 0usize..4,
        ) {
            let (prefix, want) = [
                ("docker-", Runtime::Docker),
                ("cri-containerd-", Runtime::Containerd),
                ("crio-", Runtime::CriO),
                ("libpod-", Runtime::Podman),
            ][runtime];
            // Parents that are not kubepods (which would make it a pod's).
            let parents: Vec<String> = parents.into_iter().filter(|p| !p.starts_with("kubepods")).collect();
            let path = format!("/{}/{prefix}{id}.scope", parents.join("/"));
            let c = from_cgroup_path(&path).unwrap();
            proptest::prop_assert_eq!((c.runtime, c.id.as_str(), c.pod_uid), (want, id.as_str(), None));
        }
    }

    #[test]
    fn pod_directories_give_namespace_and_name() {
        let dir = std::env::temp_dir().join(format!("sockscope-pods-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("shop_web-0_8e1d6f0a-2b3c-4d5e-9f60-718293a4b5c6")).unwrap();
        std::fs::create_dir_all(dir.join("no-underscores")).unwrap();
        let pods = pod_names(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(pods.get("8e1d6f0a-2b3c-4d5e-9f60-718293a4b5c6"), Some(&("shop".to_string(), "web-0".to_string())));
        assert_eq!(pods.len(), 1);
    }
}
