fn main() {
    let pan = desk_domain::Sensitive::new(String::from("4000056655665556"));
    let _ = serde_json::to_string(&pan);
}
