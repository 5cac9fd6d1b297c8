// A remote function is called through a function pointer: no `const fn`.
concur::remote! {
    const fn double(x: u64) -> u64 {
        2 * x
    }
}

fn main() {}
