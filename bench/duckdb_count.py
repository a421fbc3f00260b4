"""Counts the CloudTrail records of a corpus with DuckDB: the reference for bench/load.sh.

    python bench/duckdb_count.py CORPUS [QUERY]

Reads every CORPUS/**/*.json.gz (each file one `{"Records":[...]}` object) and prints the
number of records as the last line of stdout. DuckDB runs with its default settings (threads =
number of cores). QUERY picks one of the variants below (default: objects).

  objects  read_json_objects + json_array_length: every file is decompressed and parsed in full
           (yyjson DOM, so every record is parsed and validated) and the lengths of the Records
           arrays are summed. It builds no columns. The fastest correct variant measured, so the
           default: the reference is as fast as DuckDB can count the records, not handicapped.
  typed    read_json with schema auto-detection: Records becomes a LIST of STRUCTs with dozens of
           typed fields (timestamps, UUIDs, nested structs), the closest equivalent of
           trailaudit building its DataFrame; sum(len(Records)).
  unnest   as typed, then one row per record: count(*) over unnest(Records).
  json     read_json with Records declared JSON[]: every record re-serialised as a JSON value;
           much slower, shown only to explain why it is not used.

Options left at DuckDB's defaults on purpose: each file is one JSON object of ~250 KB, well under
the default maximum_object_size of 16 MiB, so it is not raised.
format='unstructured' is given where it applies so no time goes into format detection.
"""

import sys

import duckdb


def query(kind: str, glob: str) -> str:
    if kind == "objects":
        return (
            "SELECT sum(json_array_length(json, '$.Records')) "
            f"FROM read_json_objects('{glob}', format='unstructured')"
        )
    if kind == "typed":
        return f"SELECT sum(len(Records)) FROM read_json('{glob}')"
    if kind == "unnest":
        return (
            "SELECT count(*) FROM (SELECT unnest(Records) "
            f"FROM read_json('{glob}'))"
        )
    if kind == "json":
        return (
            "SELECT sum(len(Records)) FROM read_json("
            f"'{glob}', format='unstructured', columns={{Records: 'JSON[]'}})"
        )
    raise SystemExit(f"unknown query {kind!r}: objects, typed, unnest or json")


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    corpus = sys.argv[1].rstrip("/")
    kind = sys.argv[2] if len(sys.argv) == 3 else "objects"
    sql = query(kind, f"{corpus}/**/*.json.gz")
    con = duckdb.connect()
    (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
    print(f"duckdb {duckdb.__version__}, threads={threads}: {sql}", file=sys.stderr)
    (n,) = con.execute(sql).fetchone()
    print(n)


if __name__ == "__main__":
    main()
