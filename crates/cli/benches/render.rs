//! Micro-benchmark of the table renderer: `cargo bench -p sockscope --bench render`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::Bencher;
use sockscope_cli::render::table::{Align, Column, Table};

fn main() {
    divan::main();
}

/// Filling and writing an ss-style table of `n` rows.
#[divan::bench(args = [1_000, 100_000])]
fn table(b: Bencher, n: usize) {
    b.counter(divan::counter::ItemsCount::new(n)).bench(|| {
        let mut t = Table::new(vec![
            Column { heading: "State", align: Align::Left, split: None },
            Column { heading: "Recv-Q", align: Align::Left, split: None },
            Column { heading: "Local Address:Port", align: Align::Left, split: Some(':') },
            Column { heading: "Peer Address:Port", align: Align::Left, split: Some(':') },
        ]);
        t.reserve(n);
        for i in 0..n {
            t.row_separator(':');
            t.cell_str("ESTAB");
            t.cell(|a| a.push_str(itoa(i % 100).as_str()));
            t.cell_str("127.0.0.1");
            t.cell(|a| a.push_str(itoa(i % 65536).as_str()));
            t.cell_str("10.0.0.1");
            t.cell_str("443");
            t.cell_str("");
        }
        let mut out = Vec::with_capacity(n * 64);
        t.write(&mut out, true, None, None).unwrap();
        out.len()
    });
}

fn itoa(v: usize) -> String {
    v.to_string()
}
