fn main() {
    let pan = desk_domain::Pan::new("4000056655665556");
    let _ = format!("{pan}");
}
