fn main() {
    let card = desk_domain::CardDataInput::new("4000056655665556", "11/29", "JANE DOE");
    tracing::info!(pan = %card.pan, "card");
}
