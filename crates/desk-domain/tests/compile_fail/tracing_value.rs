fn main() {
    let cvv = desk_domain::Sensitive::new(String::from("123"));
    tracing::info!(cvv = cvv, "card");
}
