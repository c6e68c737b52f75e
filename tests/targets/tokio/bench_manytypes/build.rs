//! Generates 300 distinct async fns (one future type, hence one tokio
//! `raw::poll` instance, each) and a function that spawns each once.
use std::fmt::Write;

const N: usize = 150;

fn main() {
    let mut s = String::new();
    for i in 0..N {
        // Distinct constants keep the bodies (and their raw::poll / Harness
        // instances) distinct, so the linker cannot fold them together.
        writeln!(
            s,
            "async fn task_{i:03}() {{\n    let mut acc: u64 = {i};\n    loop {{\n        \
             tokio::time::sleep(std::time::Duration::from_millis({ms})).await;\n        \
             acc = std::hint::black_box(acc.wrapping_mul(6364136223846793005).wrapping_add({i}));\n    \
             }}\n}}",
            ms = 500 + i
        )
        .unwrap();
    }
    s.push_str("pub const NTYPES: usize = ");
    writeln!(s, "{N};").unwrap();
    s.push_str("fn spawn_all() {\n");
    for i in 0..N {
        writeln!(s, "    tokio::spawn(task_{i:03}());").unwrap();
    }
    s.push_str("}\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("tasks.rs");
    std::fs::write(out, s).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
