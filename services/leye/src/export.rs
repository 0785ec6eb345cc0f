//! Tables the analysts export, written as CSV or xlsx that a Chinese Excel
//! opens right (README, "Exports").
//!
//! - **CSV**: UTF-8 with a byte order mark (Excel reads a CSV without one in
//!   the machine's ANSI code page, GBK on a Chinese Windows: mojibake), CRLF
//!   line ends, RFC 4180 quoting, the header always (also with no rows).
//!   Integers are printed as integers (`15`, never `15.0`); other numbers in
//!   their shortest exact form. A text cell made only of digits (a 6-digit
//!   district, a 12-digit community, a year-less code) is written with a
//!   leading TAB: Excel opening a CSV turns a bare digit string into a number
//!   (`1.20111E+11`, leading zeros and digits past the 15th lost); with the
//!   TAB it keeps the cell as text and shows the code unchanged. The TAB is
//!   the one change to the value; a program reading the CSV strips it
//!   (whitespace), where the other common trick, `="120111001001"`, would
//!   hand it a formula. Codes with a letter (credit codes, case ids) are text
//!   to Excel already.
//! - **xlsx**: one sheet named after the export, a bold frozen header row,
//!   text cells for text (codes included: no conversion, no TAB), number
//!   cells for counts, amounts and rates, boolean cells for flags, empty cells
//!   for absent values. Dates are ISO text `YYYY-MM-DD`, as in the CSV.
//!
//! Each export names its columns; a row whose fields differ from them is an
//! error, so a header never drifts from its rows.

use std::io::Write;

use serde::Serialize;

/// One cell, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Num(f64),
    Bool(bool),
}

/// A table to export: its name (the xlsx sheet), columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// Largest integer an f64 holds exactly (2^53).
const EXACT: f64 = 9_007_199_254_740_992.0;

fn cell_of(v: serde_json::Value) -> Cell {
    use serde_json::Value;
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Cell::Int(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < EXACT => Cell::Int(f as i64),
            (None, Some(f)) => Cell::Num(f),
            (None, None) => Cell::Text(n.to_string()),
        },
        Value::String(s) => Cell::Text(s),
        // Lists (e.g. the communities of a household) become one `;`-joined cell.
        Value::Array(items) => Cell::Text(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other @ Value::Object(_) => Cell::Text(other.to_string()),
    }
}

/// Builds a table from serialisable rows whose fields are exactly `columns`, in order.
pub fn table<T: Serialize>(name: &'static str, columns: &'static [&'static str], rows: &[T]) -> anyhow::Result<Table> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let serde_json::Value::Object(fields) = serde_json::to_value(row)? else {
            anyhow::bail!("export {name}: a row must be a struct");
        };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        if names != columns {
            anyhow::bail!("export {name}: row fields {names:?} differ from the columns {columns:?}");
        }
        out.push(fields.into_iter().map(|(_, v)| cell_of(v)).collect());
    }
    Ok(Table { name, columns, rows: out })
}

/// RFC 4180 quoting of one text cell.
fn quoted(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The CSV text of one cell.
fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => format!("\t{s}"),
        // Text Excel would read as a formula (CSV injection): shown as text.
        Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => quoted(&format!("'{s}")),
        Cell::Text(s) => quoted(s),
        Cell::Int(i) => i.to_string(),
        Cell::Num(f) => f.to_string(),
        Cell::Bool(b) => b.to_string(),
    }
}

/// Writes `t` as CSV: BOM, header, CRLF. Returns the number of rows.
pub fn write_csv(t: &Table, out: &mut impl Write) -> std::io::Result<usize> {
    out.write_all("\u{feff}".as_bytes())?;
    let header: Vec<String> = t.columns.iter().map(|c| quoted(c)).collect();
    out.write_all(header.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(csv_cell).collect();
        out.write_all(cells.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(t.rows.len())
}

/// The xlsx file of `t`.
pub fn xlsx(t: &Table) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(t.name)?;
    let bold = Format::new().set_bold();
    for (c, name) in t.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, *name, &bold)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| anyhow::anyhow!("export {}: too many rows for a sheet", t.name))?;
        for (c, cell) in row.iter().enumerate() {
            let c = col(c)?;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    sheet.write_string(r, c, s)?;
                }
                Cell::Int(i) => {
                    sheet.write_number(r, c, *i as f64)?;
                }
                Cell::Num(f) => {
                    sheet.write_number(r, c, *f)?;
                }
                Cell::Bool(b) => {
                    sheet.write_boolean(r, c, *b)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.save_to_buffer()?)
}

fn col(c: usize) -> anyhow::Result<u16> {
    u16::try_from(c).map_err(|_| anyhow::anyhow!("too many columns for a sheet"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        count: i64,
        value: f64,
        communities: Vec<&'static str>,
        date: Option<&'static str>,
        code: &'static str,
    }

    const COLUMNS: &[&str] = &["name", "count", "value", "communities", "date", "code"];

    #[test]
    fn csv_has_a_bom_crlf_quotes_integers_and_codes_as_text() {
        let rows = [
            Row {
                name: "a,b",
                count: 2,
                value: 15.0,
                communities: vec!["120111001001", "120101"],
                date: None,
                code: "120111",
            },
            Row {
                name: "say \"hi\"",
                count: 0,
                value: 0.25,
                communities: vec![],
                date: Some("2026-01-01"),
                code: "x1",
            },
        ];
        let mut out = Vec::new();
        assert_eq!(write_csv(&table("t", COLUMNS, &rows).unwrap(), &mut out).unwrap(), 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}name,count,value,communities,date,code\r\n\
             \"a,b\",2,15,120111001001;120101,,\t120111\r\n\
             \"say \"\"hi\"\"\",0,0.25,,2026-01-01,x1\r\n"
        );
    }

    #[test]
    fn text_excel_would_read_as_a_formula_is_written_as_text() {
        let row = |name| Row { name, count: -3, value: -0.5, communities: vec![], date: None, code: "c" };
        let rows = [row("=HYPERLINK(\"http://x\")"), row("+1+1"), row("-2+3"), row("@SUM(A1:A2)"), row("=1,2")];
        let mut out = Vec::new();
        write_csv(&table("t", COLUMNS, &rows).unwrap(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let names: Vec<&str> =
            text.split("\r\n").skip(1).filter(|l| !l.is_empty()).map(|l| l.rsplitn(6, ',').last().unwrap()).collect();
        assert_eq!(names, ["\"'=HYPERLINK(\"\"http://x\"\")\"", "'+1+1", "'-2+3", "'@SUM(A1:A2)", "\"'=1,2\""]);
        assert!(text.contains(",-3,-0.5,"), "numbers stay numbers: {text}");
    }

    #[test]
    fn an_empty_table_still_has_its_header() {
        let mut out = Vec::new();
        assert_eq!(write_csv(&table::<Row>("t", COLUMNS, &[]).unwrap(), &mut out).unwrap(), 0);
        assert_eq!(out, "\u{feff}name,count,value,communities,date,code\r\n".as_bytes());
    }

    #[test]
    fn rows_whose_fields_differ_from_the_columns_are_refused() {
        let rows = [Row { name: "a", count: 1, value: 1.5, communities: vec![], date: None, code: "1" }];
        let err = table("t", &["name", "count"], &rows).unwrap_err().to_string();
        assert!(err.contains("differ from the columns"), "{err}");
    }
}
