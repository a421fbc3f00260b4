"""Counts the CloudTrail records of a corpus with DuckDB: the reference for bench/load.sh.

    python bench/duckdb_count.py CORPUS [QUERY]

Reads every CORPUS/**/*.json.gz (each file one `{"Records":[...]}` object) and prints the
number of records as the last line of stdout. DuckDB runs with its default settings (threads =
number of cores). QUERY picks one of the variants below (default: objects).

  objects  read_json_objects + json_array_length: every file is parsed in full (yyjson DOM) and
           the length of its Records array is summed. The fastest correct variant measured, so
           the default: it parses every record but builds no columns.
  typed    read_json with schema auto-detection: Records becomes a LIST of STRUCTs with about 80
           typed leaf columns (timestamps, UUIDs, nested structs), the closest equivalent of
           trailaudit building its DataFrame; sum(len(Records)).
  unnest   as typed, then one row per record: count(*) over unnest(Records).
  json     read_json with Records declared JSON[]: every record re-serialised as a JSON value;
           much slower, shown only to explain why it is not used.

maximum_object_size is raised to 64 MiB because each file is one JSON object bigger than the
16 MiB default allows for the larger files of a corpus; it costs nothing when unused.
"""

import sys

import duckdb

MAX_OBJECT = 64 * 1024 * 1024


def query(kind: str, glob: str) -> str:
    opts = f"maximum_object_size={MAX_OBJECT}"
    if kind == "objects":
        return (
            "SELECT sum(json_array_length(json, '$.Records')) "
            f"FROM read_json_objects('{glob}', format='unstructured', {opts})"
        )
    if kind == "typed":
        return f"SELECT sum(len(Records)) FROM read_json('{glob}', format='auto', {opts})"
    if kind == "unnest":
        return (
            "SELECT count(*) FROM (SELECT unnest(Records) "
            f"FROM read_json('{glob}', format='auto', {opts}))"
        )
    if kind == "json":
        return (
            "SELECT sum(len(Records)) FROM read_json("
            f"'{glob}', format='unstructured', columns={{Records: 'JSON[]'}}, {opts})"
        )
    raise SystemExit(f"unknown query {kind!r}: objects, typed, unnest or json")


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    corpus = sys.argv[1].rstrip("/")
    kind = sys.argv[2] if len(sys.argv) == 3 else "objects"
    sql = query(kind, f"{corpus}/**/*.json.gz")
    con = duckdb.connect()
    print(f"duckdb {duckdb.__version__}, threads={con.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]}: {sql}", file=sys.stderr)
    (n,) = con.execute(sql).fetchone()
    print(n)


if __name__ == "__main__":
    main()
