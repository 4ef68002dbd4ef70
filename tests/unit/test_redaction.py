from __future__ import annotations

import pytest

from autoheal.domain.redaction import MASK, redact, redact_json

SECRETS = [
    (
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."
        "eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJl",
        "eyJ0eXAi",
    ),
    ("token dapi0123456789abcdef0123456789abcdef-3 was rejected", "dapi0123456789abcdef"),
    (
        "https://acct.blob.core.windows.net/raw/x.csv?sv=2022-11-02&ss=b&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D&se=2026",
        "Zm9vYmFyYmF6",
    ),
    (
        "Server=tcp:db.database.windows.net;Database=dw;User ID=etl;Password=S3cr3t!Passw0rd;Encrypt=True",
        "S3cr3t!Passw0rd",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXk=;EndpointSuffix=core",
        "bXlrZXlteWtl",
    ),
    ("jdbc connect failed for postgresql://etl:hunter2pass@db.example.com:5432/dw", "hunter2pass"),
    ('{"client_secret": "abc~DEF.ghi-123"}', "abc~DEF"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_real_looking_secrets_are_removed(text: str, secret: str) -> None:
    out = redact(text)
    assert out is not None and secret not in out and MASK in out


def test_plain_error_text_is_left_alone() -> None:
    text = "Operation on target CopyOrders failed: Response status code: 'GatewayTimeout'."
    assert redact(text) == text


def test_json_values_under_secret_keys_and_nested_strings() -> None:
    data = {"headers": {"Authorization": "Bearer abc.def"}, "password": "x1", "rows": ["pwd=hunter2"], "n": 3}
    out = redact_json(data)
    assert out["headers"]["Authorization"] == MASK and out["password"] == MASK
    assert out["rows"] == [f"pwd={MASK}"] and out["n"] == 3


# Forms the patterns above missed (issue 13): each reached the store, Prefect's database, flow-run
# parameters or artifacts before. The secret part must be gone, whatever surrounds it.
GAPS = [
    ("Server=tcp:db;User ID=etl;Password=Hunter Tail9Leak;Encrypt=True", "Tail9Leak"),
    ("Server=tcp:db;Password=Hunter Tail9Leak", "Tail9Leak"),
    ("sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D&se=2026", "Zm9vYmFyYmF6"),
    ("token dapi0123456789abcdef0123456789abcdefXyz rejected", "0123456789abcdef0123"),
    ("Driver={ODBC Driver 18};Server=db;Pwd={a;b};Database=dw", "b}"),
    ("Server=db;Password={Hunter;Tail9Leak};Database=dw", "Tail9Leak"),
    ("https://x/y?conn=Server%3Ddb%3BPassword%3DHunterTail9Leak%3BDatabase%3Ddw", "HunterTail9Leak"),
    ("https://x/y?conn=password%3DHunter%20Tail9Leak%26user%3Detl", "Tail9Leak"),
    ("https://a.blob.core.windows.net/c%3Fsv%3D2022%26sig%3DZm9vYmFyYmF6cXV4MTIz", "Zm9vYmFyYmF6"),
]


@pytest.mark.parametrize(("text", "secret"), GAPS)
def test_secrets_in_the_forms_issue_13_found(text: str, secret: str) -> None:
    out = redact(text)
    assert out is not None and secret not in out and MASK in out, out


def test_the_rest_of_a_connection_string_survives() -> None:
    out = redact("Server=tcp:db;User ID=etl;Password=Hunter Tail9Leak;Encrypt=True")
    assert out == f"Server=tcp:db;User ID=etl;Password={MASK};Encrypt=True"


def test_error_codes_are_not_taken_for_secrets() -> None:
    text = "ErrorCode=2200 code: UserErrorSourceBlobNotExists; failureType=UserError"
    assert redact(text) == text
