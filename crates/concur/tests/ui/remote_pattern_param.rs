// Parameters must be plain names (destructure in the body).
concur::remote! {
    fn add((a, b): (u8, u8)) -> u8 {
        a + b
    }
}

fn main() {}
