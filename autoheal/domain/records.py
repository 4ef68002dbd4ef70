"""The never-class signs of the records a job reads and writes: their schema (a column the mapping names that
is not there, types that do not match) and their values (a constraint broken, a value that does not convert, a
row a job's own check rejects). Part of ``NEVER_SIGNS`` (autoheal/domain/rules.py, whose docstring says how the
signs are written and read), in this order, after the user's code and before a missing object. Split from
rules.py for its size only.
"""

from __future__ import annotations

from autoheal.domain.signs import S, Sign

RECORD_SIGNS: tuple[Sign, ...] = (
    S(
        "schema",
        "SchemaMismatch",
        r"column ['\"`]?[\w.]+['\"`]? (specified in column mapping )?(cannot be found|can not be found|"
        r"does not exist|not found|is not found)|schema mismatch|(schema|schemas) (is |are )?(incompatible|"
        r"not compatible|different)|incompatible (column |data |schema )?types?|column mapping|"
        r"number of columns .{0,60}(does not match|mismatch)|failed to merge (fields|incompatible)|"
        r"has \d+ columns?,? (but|while|whereas) .{0,80}(has|have|expects?) \d+|column count (does not match|mismatch)|"
        r"expected \d+ columns?,? (but )?(got|found|received) \d+|"
        r"type mismatch|cannot (be )?cast|is (a )?legacy \w+ type which is not supported|schema ?mapping|"
        r"can be fixed by an automatic retry: false|"  # Auto Loader's UNKNOWN_FIELD_EXCEPTION says so itself
        # The engines' words for a column the statement names and the table does not hold, or a type the two disagree
        # on, where their numbers are not quoted: SQL Server's 207 "Invalid column name 'x'", MySQL's 1054 "Unknown
        # column 'x' in 'where clause'", PostgreSQL's 42804 "column \"ts\" is of type timestamp ... but expression is
        # of type text", Spark's STATE_SCHEMA_NOT_COMPATIBLE "Provided schema doesn't match to the schema for existing
        # state", BigQuery's "Provided Schema does not match Table".
        r"invalid column name ['\"`]|unknown column ['\"`][^'\"`]{1,128}['\"`] in ['\"`]|"
        r"failed to resolve column\b|is of type [\w ]{1,40} but expression is of type|"
        r"schema (does not|doesn't) match|(does not|doesn't) match (to )?the schema|"
        r"does not match (the )?(schema|column data) type",
    ),
    S(
        "data",
        "DataQuality",
        r"constraint violation|violation of (primary|unique) key|duplicate key|unique index|"
        r"cannot insert (the value )?null|null value in column|not null constraint|"
        r"more columns than (expected|defined)|too (many|few) columns|"
        # Not TLS's bad_record_mac alert ("[SSL: SSLV3_ALERT_BAD_RECORD_MAC] sslv3 alert bad record mac"): a record of
        # the connection arrived corrupted, not a row of the data.
        r"malformed (record|row|csv|json|data|file)|bad record(?![ _]mac)|"
        r"conversion failed when converting|failed to convert value|invalid (date|number|numeric|decimal) "
        r"(format|value)|unparseable|string or binary data would be truncated|divide by zero|"
        r"multiple source rows matched|arithmetic overflow|caused overflow|numeric overflow|value out of range|"
        r"corrupt(ed)? (file|record|data|view|table|catalog|metadata|index|object)|(has been|is|was) corrupted\b|"
        # A value longer than its type allows (Spark's EXCEED_LIMIT_LENGTH "Exceeds char/varchar type length
        # limitation", SQLSTATE 54006).
        r"(type |column )?length limitation|exceed(s|ed)? (the )?(char|varchar|string|column) (type )?length|"
        # A value the engine cannot take as it is: SQL Server's "Error converting data type", "Received an invalid
        # column length from the bcp client" (a string longer than its column), MySQL's 1406 "Data too long for
        # column", a CHECK or NOT NULL constraint, a value that does not convert to its column's type.
        r"contains an? invalid (date|time|timestamp|value|number|character)|"
        r"invalid (date|datetime|timestamp|header row|literal|utf-?8)\b|error converting data type|"
        r"invalid character (in|at) (the )?(json|xml|csv|column|row|value|string|field|data|input|position)\b|"
        r"invalid column length from the bcp client|data too long for column|"
        r"violat\w* (the |a )?[\w ]{0,20}constraint|non-?nullable (column|field)|"
        # SQL Server's 547 in its words: "The INSERT statement conflicted with the FOREIGN KEY constraint".
        r"conflicted with the [\w ]{0,30}constraint|"
        r"cannot be converted (to|into) (type|the type|a|an|\w+ type)\b|"
        # A data flow's cast of a value ("Converting to a date or time failed due to an invalid character").
        r"convert(ing)? to an? [\w ]{1,30} failed|failed due to an invalid character|"
        # A check the job runs on its own rows, or a conversion the engine could not make (SSIS's "Data conversion
        # failed", Power Query's DataFormat.Error "We couldn't convert", Snowflake's 100038 "Numeric value 'abc' is
        # not recognized", Redshift's 1204 "String length exceeds DDL length").
        r"\b\d+ rows? (with|have|has|having|where) (a )?(null|duplicate|invalid|missing)\b|row count mismatch|"
        r"data conversion failed|couldn't convert|(numeric|date|timestamp|boolean) value '[^']*' is not recognized|"
        r"string length exceeds ddl length",
    ),
)
