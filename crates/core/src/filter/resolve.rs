//! Names in a filter → the numbers the kernel compares: interface names → indexes, cgroup
//! paths → cgroup ids. Done once, before evaluation and compilation.

use super::FilterError;
use super::ast::{Device, Expr, Pred};
use crate::names::Interfaces;
use std::path::Path;

pub fn resolve(expr: &mut Expr, interfaces: &mut Interfaces, cgroup_root: &Path) -> Result<(), FilterError> {
    match expr {
        Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().try_for_each(|x| resolve(x, interfaces, cgroup_root)),
        Expr::Not(a) => resolve(a, interfaces, cgroup_root),
        Expr::Pred(Pred::Dev(dev @ Device::Name(_))) => {
            let Device::Name(name) = &*dev else { return Ok(()) };
            let index = interfaces.index(name).ok_or_else(|| FilterError {
                column: 0,
                token: name.clone(),
                message: "no such network interface in this namespace".into(),
            })?;
            *dev = Device::Index(index);
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
