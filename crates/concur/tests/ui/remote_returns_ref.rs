// The result travels back by value: no borrowed return type.
concur::remote! {
    fn first_word(text: &str) -> &str {
        text.split(' ').next().unwrap_or("")
    }
}

fn main() {}
