// A remote function is a free function: no `self`.
concur::remote! {
    fn area(&self) -> f64 {
        1.0
    }
}

fn main() {}
