// A worker changes its own copy only: `&mut` parameters are refused.
concur::remote! {
    fn push_one(v: &mut Vec<u8>) {
        v.push(1);
    }
}

fn main() {}
