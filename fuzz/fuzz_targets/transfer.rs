//! sysupdate.d `.transfer` files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let spec = imprint::update::transfer::Specifiers {
            values: vec![('A', "1.2".into()), ('M', "imprint".into()), ('w', "13".into()), ('o', "debian".into()), ('a', "x86-64".into())],
        };
        let _ = imprint::update::transfer::parse(Path::new("fuzz.transfer"), text, &spec);
    }
});
