//! Names in a filter → the numbers the kernel compares: interface names → indexes, cgroup
//! paths → cgroup ids. Done once, before evaluation and compilation.

use super::FilterError;
use super::ast::{Device, Expr, Pred};
use crate::names::Interfaces;
use std::path::Path;

/// Resolves names in the namespace `interfaces` asks (the caller's, or the one `-N` enters).
pub fn resolve(expr: &mut Expr, interfaces: &mut Interfaces, cgroup_root: &Path) -> Result<(), FilterError> {
    resolve_with(expr, &mut |name| interfaces.index(name).map(Device::Index), "in this namespace", cgroup_root)
}

/// Resolves each interface name in every namespace read (`namespaces`: each one's inode and
/// its interfaces), so `dev = eth0` selects each namespace's own eth0 and never a socket
/// of one namespace through an index taken from another. A name no namespace has is an error.
pub fn resolve_per_netns(
    expr: &mut Expr,
    namespaces: &mut [(u64, Interfaces)],
    cgroup_root: &Path,
) -> Result<(), FilterError> {
    let mut lookup = |name: &str| {
        let at: Vec<(u64, u32)> =
            namespaces.iter_mut().filter_map(|(ns, ifs)| ifs.index(name).map(|i| (*ns, i))).collect();
        (!at.is_empty()).then(|| Device::PerNetns(name.to_string(), at))
    };
    resolve_with(expr, &mut lookup, "in any of the namespaces read", cgroup_root)
}

fn resolve_with(
    expr: &mut Expr,
    lookup: &mut dyn FnMut(&str) -> Option<Device>,
    where_: &str,
    cgroup_root: &Path,
) -> Result<(), FilterError> {
    match expr {
        Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().try_for_each(|x| resolve_with(x, lookup, where_, cgroup_root)),
        Expr::Not(a) => resolve_with(a, lookup, where_, cgroup_root),
        Expr::Pred(Pred::Dev(dev @ Device::Name(_))) => {
            let Device::Name(name) = &*dev else { return Ok(()) };
            let resolved = lookup(name).ok_or_else(|| FilterError {
                column: 0,
                token: name.clone(),
                message: format!("no such network interface {where_}"),
            })?;
            *dev = resolved;
            Ok(())
        }
        Expr::Pred(Pred::Cgroup { path, id: id @ None }) => {
            use std::os::unix::fs::MetadataExt;
            let full = cgroup_root.join(path.trim_start_matches('/'));
            let meta = std::fs::metadata(&full).map_err(|e| FilterError {
                column: 0,
                token: path.clone(),
                message: format!("no such cgroup ({}: {e})", crate::text::Untrusted(&crate::text::path_text(&full))),
            })?;
            *id = Some(meta.ino());
            Ok(())
        }
        Expr::Pred(_) => Ok(()),
    }
}
