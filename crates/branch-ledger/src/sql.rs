//! A small builder for statements with a variable number of parameters.

use tokio_postgres::types::ToSql;

/// SQL text and its parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    /// Adds a parameter and returns its placeholder (`$n`).
    pub(crate) fn param<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// The parameters as the driver takes them.
    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Up to this many branches are read as one `UNION ALL` of per-branch walks, each planned with
/// its branch known (good estimates: the walk stops after one page); beyond, one LATERAL over the
/// list.
pub(crate) const MAX_BRANCHES_UNROLLED: usize = 64;

/// The newest `limit` orders over `branches` that match `conds` (orders aliased `o`; no branch
/// condition in `conds`), newest first (created_at, card_id, branch_id, descending). Each branch
/// is an ordered walk of `orders_newest` that stops after `limit` rows.
pub(crate) fn newest_orders(
    sql: &mut Sql,
    branches: &[String],
    conds: &[String],
    limit: &str,
) -> String {
    let inner = crate::types::order_columns("o");
    let outer = crate::types::order_columns("x");
    let rest: String = conds.iter().map(|c| format!(" AND {c}")).collect();
    let order = "ORDER BY o.created_at DESC, o.card_id DESC";
    let merged = "ORDER BY x.created_at DESC, x.card_id DESC, x.branch_id DESC";
    if branches.len() <= MAX_BRANCHES_UNROLLED {
        let parts: Vec<String> = branches
            .iter()
            .map(|b| {
                let p = sql.param(b.clone());
                format!(
                    "(SELECT {inner} FROM ledger.orders AS o WHERE o.branch_id = {p}{rest} \
                     {order} LIMIT {limit})"
                )
            })
            .collect();
        match parts.as_slice() {
            [one] => one.clone(),
            _ => format!(
                "SELECT {outer} FROM ({}) AS x {merged} LIMIT {limit}",
                parts.join(" UNION ALL ")
            ),
        }
    } else {
        let list = sql.param(branches.to_vec());
        format!(
            "SELECT {outer} FROM unnest({list}::text[]) AS vb(branch_id) CROSS JOIN LATERAL ( \
                 SELECT {inner} FROM ledger.orders AS o \
                 WHERE o.branch_id = vb.branch_id{rest} {order} LIMIT {limit}) AS x \
             {merged} LIMIT {limit}"
        )
    }
}
