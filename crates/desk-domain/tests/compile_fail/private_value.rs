fn main() {
    let cvv = desk_domain::Sensitive::new(String::from("123"));
    let _: String = cvv.0;
}
