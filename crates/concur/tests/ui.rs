//! Compile-fail tests: the errors a newcomer meets name the fix. Each
//! `tests/ui/*.rs` must fail to compile with exactly the `.stderr` next to
//! it (regenerate with `TRYBUILD=overwrite cargo test -p concur --test ui`
//! after checking the new wording is what a user should read).

#[test]
fn diagnostics_name_the_fix() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // Cases that hold only without the `tokio` feature.
    #[cfg(not(feature = "tokio"))]
    t.compile_fail("tests/ui-no-tokio/*.rs");
}
