//! Column and table helpers so every migration spells ids, timestamps,
//! enums and foreign keys the same way on both backends.

use sea_orm_migration::prelude::*;

/// A UUID v7 primary key stored as text.
pub fn pk(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().primary_key().to_owned()
}

/// A required reference to another row's id.
pub fn id_ref(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().to_owned()
}

/// An optional reference to another row's id.
pub fn id_ref_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(36).null().to_owned()
}

/// A required UTC timestamp.
pub fn ts(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}

/// An optional UTC timestamp.
pub fn ts_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}

/// An optional calendar date (no time zone), e.g. a sprint's planned start.
pub fn date_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).date().null().to_owned()
}

/// A required text column.
pub fn text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

/// An optional text column.
pub fn text_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}

/// A bounded string (codes, names).
pub fn string(name: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().to_owned()
}

/// A bounded string with a default.
pub fn string_def(name: impl IntoIden, len: u32, default: &str) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().default(default).to_owned()
}

/// An optional bounded string.
pub fn string_null(name: impl IntoIden, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).null().to_owned()
}

/// An UPPER_SNAKE enum stored as text, with its default.
pub fn enum_col(name: impl IntoIden, default: &str) -> ColumnDef {
    ColumnDef::new(name).string_len(40).not_null().default(default).to_owned()
}

/// A required UPPER_SNAKE enum stored as text, with no default (the writer
/// always chooses, e.g. a job's kind).
pub fn enum_req(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(40).not_null().to_owned()
}

/// An optional UPPER_SNAKE enum stored as text.
pub fn enum_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(40).null().to_owned()
}

/// A boolean with a default.
pub fn boolean(name: impl IntoIden, default: bool) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().default(default).to_owned()
}

/// A 32-bit integer with a default.
pub fn int(name: impl IntoIden, default: i32) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().default(default).to_owned()
}

/// An optional 32-bit integer.
pub fn int_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).integer().null().to_owned()
}

/// A 64-bit integer with a default (money in minor units, token counts).
pub fn big(name: impl IntoIden, default: i64) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().default(default).to_owned()
}

/// An optional 64-bit integer.
pub fn big_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}

/// A required double (float sort orders).
pub fn double(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).double().not_null().to_owned()
}

/// An optional JSON blob (opaque to SQL: never filtered on).
pub fn json_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).json_binary().null().to_owned()
}

/// Optional binary data.
pub fn blob_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).blob().null().to_owned()
}

/// A foreign key from `table.col` to `to.id` with the given delete rule.
pub fn fk(
    table: impl IntoIden + Clone,
    col: impl IntoIden,
    to: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, Alias::new("id"))
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A CHECK that exactly one of two nullable columns is set, named
/// `{table}_{a}_xor_{b}_check`.
pub fn exactly_one_of(table: &str, a: &str, b: &str) -> Check {
    Check::named(
        Alias::new(format!("{table}_{a}_xor_{b}_check")),
        // Parenthesised by hand: Postgres binds `IS NULL` looser than `<>`.
        Expr::cust(format!(r#"("{a}" IS NULL) <> ("{b}" IS NULL)"#)),
    )
}

/// A (possibly unique) index named `{table}_{cols}_idx` / `_key`.
pub fn index(table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    let suffix = if unique { "key" } else { "idx" };
    idx.name(format!("{table}_{}_{suffix}", cols.join("_"))).table(Alias::new(table));
    for c in cols {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

/// Creates every index of a list.
pub async fn create_indexes(m: &SchemaManager<'_>, idx: Vec<IndexCreateStatement>) -> Result<(), DbErr> {
    for i in idx {
        m.create_index(i).await?;
    }
    Ok(())
}
