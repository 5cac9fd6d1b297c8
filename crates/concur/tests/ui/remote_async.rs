// Workers run plain functions: `async fn` is refused.
concur::remote! {
    async fn fetch(url: String) -> usize {
        url.len()
    }
}

fn main() {}
