//! One `remote!` block with fifty functions stays under the default
//! macro recursion limit (the items are split before each is parsed).

#![allow(clippy::identity_op)]

concur_ipc::remote! {
    fn f0(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 0) }
    fn f1(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 1) }
    fn f2(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 2) }
    fn f3(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 3) }
    fn f4(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 4) }
    fn f5(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 5) }
    fn f6(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 6) }
    fn f7(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 7) }
    fn f8(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 8) }
    fn f9(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 9) }
    fn f10(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 10) }
    fn f11(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 11) }
    fn f12(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 12) }
    fn f13(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 13) }
    fn f14(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 14) }
    fn f15(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 15) }
    fn f16(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 16) }
    fn f17(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 17) }
    fn f18(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 18) }
    fn f19(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 19) }
    fn f20(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 20) }
    fn f21(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 21) }
    fn f22(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 22) }
    fn f23(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 23) }
    fn f24(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 24) }
    fn f25(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 25) }
    fn f26(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 26) }
    fn f27(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 27) }
    fn f28(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 28) }
    fn f29(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 29) }
    fn f30(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 30) }
    fn f31(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 31) }
    fn f32(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 32) }
    fn f33(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 33) }
    fn f34(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 34) }
    fn f35(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 35) }
    fn f36(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 36) }
    fn f37(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 37) }
    fn f38(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 38) }
    fn f39(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 39) }
    fn f40(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 40) }
    fn f41(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 41) }
    fn f42(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 42) }
    fn f43(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 43) }
    fn f44(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 44) }
    fn f45(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 45) }
    fn f46(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 46) }
    fn f47(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 47) }
    fn f48(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 48) }
    fn f49(x: u64, y: &str) -> std::io::Result<u64> { Ok(x + y.len() as u64 + 49) }
}

#[test]
fn fifty_functions_in_one_block() {
    assert_eq!(f0(1, "ab").unwrap(), 3);
    assert_eq!(f49(1, "").unwrap(), 50);
    assert_eq!(
        <f49 as concur_core::RemoteFn>::call((1, String::new())).unwrap(),
        50
    );
}
