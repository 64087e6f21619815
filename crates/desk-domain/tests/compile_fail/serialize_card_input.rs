fn needs_serialize<T: serde::Serialize>() {}

fn main() {
    needs_serialize::<desk_domain::CardDataInput>();
}
