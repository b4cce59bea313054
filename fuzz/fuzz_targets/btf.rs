//! A BTF blob (the kernel's type information) → the reader the owner walk asks for a
//! function's id and fields' offsets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = sockscope_core::btf::Btf::parse(data.to_vec()) {
        let _ = btf.func("bpf_iter_task_file");
        for (name, field) in [("outer", "a"), ("outer", "b"), ("task_struct", "tgid"), ("inode", "i_ino")] {
            let _ = btf.field(name, field);
        }
    }
});
