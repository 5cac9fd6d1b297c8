// A worker finds a remote function by name, so it must be one concrete
// function: generics are refused with what to do instead.
concur::remote! {
    fn first<T: Clone>(items: Vec<T>) -> T {
        items[0].clone()
    }
}

fn main() {}
