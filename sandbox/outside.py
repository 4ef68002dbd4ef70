"""Loopback stand-ins for the services people use beside ADF and Databricks, which have no emulator:
a notification sink (Slack incoming webhooks, Teams Workflows, generic webhooks), an SMTP server, a
Jira (REST API v2) and Logic Apps. Each records what it received so tests and the demo can show it,
and checks the shapes the real service requires (a Jira create without a summary gets Jira's 400).

The Logic App does what a real one does with the ADF or Databricks connector: it calls the sandbox's
REST API (createRun from the failed activity, runs/repair), or, configured to, nothing at all.
"""

from __future__ import annotations

import base64
import socketserver
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import trustme
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.server import Endpoints, ThreadedServer, bind


@dataclass
class Received:
    channel: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return await request.json() if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


class _Served:
    """An app on a loopback port, over http, or https with its own trustme CA (``ca_bundle``)."""

    def __init__(self, app: FastAPI, *, tls: bool = False) -> None:
        self.app, self.tls = app, tls
        self.server: ThreadedServer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="autoheal-outside-")
        self.ca_bundle: str | None = None

    def start(self) -> str:
        ssl = None
        if self.tls:
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            folder = Path(self._tmp.name)
            self.ca_bundle = str(folder / "ca.pem")
            ca.cert_pem.write_to_path(self.ca_bundle)
            cert.private_key_pem.write_to_path(str(folder / "key.pem"))
            (folder / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
            ssl = (str(folder / "cert.pem"), str(folder / "key.pem"))
        self.server = ThreadedServer(self.app, bind("127.0.0.1", 0), ssl)
        self.server.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sock.getsockname()[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        self._tmp.cleanup()


class NotificationSink(_Served):
    """Slack (``/services/T/B/X``), Teams Workflows (``/workflows/...``) and webhooks (``/hook/NAME``).
    ``failing`` maps a channel to the status it answers with (a channel that is down)."""

    def __init__(self, *, tls: bool = False) -> None:
        super().__init__(FastAPI(), tls=tls)
        self.received: list[Received] = []
        self.failing: dict[str, int] = {}
        app = self.app

        async def record(channel: str, request: Request, ok: Any) -> Any:
            self.received.append(
                Received(channel, request.method, request.url.path, dict(request.headers), await _body(request))
            )
            status = self.failing.get(channel)
            return JSONResponse({"error": "unavailable"}, status_code=status) if status else ok

        @app.post("/services/{a}/{b}/{c}")
        async def slack(request: Request, a: str, b: str, c: str) -> Any:
            from fastapi.responses import PlainTextResponse

            return await record("slack", request, PlainTextResponse("ok"))  # Slack answers the text "ok"

        @app.post("/workflows/{rest:path}")
        async def teams(request: Request, rest: str) -> Any:
            return await record("teams", request, JSONResponse({}, status_code=202))

        @app.post("/hook/{name}")
        async def hook(request: Request, name: str) -> Any:
            return await record(f"webhook:{name}", request, JSONResponse({"ok": True}))

    def of(self, channel: str) -> list[Received]:
        return [r for r in self.received if r.channel == channel]


class SmtpSink:
    """A plain SMTP server (no TLS, no AUTH) that keeps each message it is given."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ESMTP\r\n")
                sender, rcpts = "", []
                while line := self.rfile.readline():
                    verb = line.decode("ascii", "replace").strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif verb.startswith("MAIL FROM"):
                        sender = line.decode().split(":", 1)[1].strip()
                        self.wfile.write(b"250 OK\r\n")
                    elif verb.startswith("RCPT TO"):
                        rcpts.append(line.decode().split(":", 1)[1].strip())
                        self.wfile.write(b"250 OK\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        parsed = message_from_bytes(data)
                        plain = [p for p in parsed.walk() if p.get_content_type() == "text/plain"]
                        part = plain[0].get_payload(decode=True) if plain else b""
                        text = part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part or "")
                        sink.messages.append({"from": sender, "to": rcpts, "subject": parsed["Subject"], "body": text})
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 OK\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> int:
        self.thread.start()
        return self.port

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JiraFake(_Served):
    """Jira's REST API v2: create issue, comment, search by JQL label. Basic auth (email + API token)
    as Jira Cloud; Jira's error shapes. ``outages`` answers that many next requests with 503."""

    def __init__(self, *, user: str, token: str, projects: tuple[str, ...] = ("OPS",)) -> None:
        super().__init__(FastAPI())
        self.user, self.token, self.projects = user, token, set(projects)
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self.requests: list[Received] = []
        self.outages = 0
        app = self.app

        def refuse(request: Request) -> JSONResponse | None:
            self.requests.append(Received("jira", request.method, request.url.path, dict(request.headers), None))
            if self.outages > 0:
                self.outages -= 1
                return JSONResponse(
                    {"errorMessages": ["Service unavailable"]}, status_code=503, headers={"Retry-After": "1"}
                )
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"errorMessages": ["You are not authenticated."]}, status_code=401)
            return None

        @app.post("/rest/api/2/issue")
        async def create(request: Request) -> Any:
            if (refused := refuse(request)) is not None:
                return refused
            body = await request.json()
            self.requests[-1].body = body
            fields = body.get("fields") or {}
            errors: dict[str, str] = {}
            if (fields.get("project") or {}).get("key") not in self.projects:
                errors["project"] = "valid project is required"
            if not isinstance(fields.get("summary"), str) or not fields["summary"].strip():
                errors["summary"] = "You must specify a summary of the issue."
            if not (fields.get("issuetype") or {}).get("name"):
                errors["issuetype"] = "valid issue type is required"
            if not isinstance(fields.get("description", ""), str):
                errors["description"] = "Operation value must be a string"  # v2 takes text, not a document
            labels = fields.get("labels") or []
            if not all(isinstance(label, str) and " " not in label for label in labels):
                errors["labels"] = "Labels cannot contain spaces"
            if errors:
                return JSONResponse({"errorMessages": [], "errors": errors}, status_code=400)
            key = f"{fields['project']['key']}-{len(self.issues) + 1}"
            self.issues[key] = fields
            return JSONResponse(
                {"id": str(10000 + len(self.issues)), "key": key, "self": f"{self.url}/issue/{key}"}, 201
            )

        @app.post("/rest/api/2/issue/{key}/comment")
        async def comment(request: Request, key: str) -> Any:
            if (refused := refuse(request)) is not None:
                return refused
            body = await request.json()
            self.requests[-1].body = body
            if key not in self.issues:
                return JSONResponse(
                    {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}, 404
                )
            if not isinstance(body.get("body"), str):
                return JSONResponse({"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}, 400)
            self.comments.setdefault(key, []).append(body["body"])
            return JSONResponse({"id": str(len(self.comments[key])), "body": body["body"]}, 201)

        @app.get("/rest/api/2/search/jql")
        async def search(request: Request) -> Any:
            if (refused := refuse(request)) is not None:
                return refused
            jql = request.query_params.get("jql", "")
            self.requests[-1].query = dict(request.query_params)
            found = [k for k, f in self.issues.items() if any(f'labels = "{label}"' in jql for label in f["labels"])]
            return {"issues": [{"key": k} for k in reversed(found)][: int(request.query_params.get("maxResults", 50))]}


class LogicAppFake(_Served):
    """A Logic App (or Function) behind an HTTP trigger. ``behaviour``: "rerun" calls the sandbox's REST
    API as the ADF / Databricks connector would; "nothing" answers 200 and does nothing."""

    def __init__(
        self, sandbox: Endpoints | None, *, secret: str, header: str = "x-functions-key", behaviour: str = "rerun"
    ) -> None:
        super().__init__(FastAPI())
        self.sandbox, self.secret, self.header, self.behaviour = sandbox, secret, header, behaviour
        self.received: list[Received] = []
        app = self.app

        @app.post("/api/{name}")
        async def trigger(request: Request, name: str) -> Any:
            body = await _body(request)
            self.received.append(Received(f"logic-app:{name}", "POST", request.url.path, dict(request.headers), body))
            if request.headers.get(self.header) != self.secret:
                return JSONResponse({"error": {"code": "Unauthorized"}}, status_code=401)
            if self.behaviour == "rerun":
                self._act(body)
            return JSONResponse({"status": "accepted"}, status_code=200)

    def _act(self, body: dict[str, Any]) -> None:
        e = self.sandbox
        if e is None:
            raise RuntimeError("the Logic App has no sandbox to call yet")
        if body["service"] == "adf":
            path = (
                f"/subscriptions/{body['subscriptionId'] or e.subscription_id}/resourceGroups/{body['resourceGroup']}"
                f"/providers/Microsoft.DataFactory/factories/{body['factoryName']}/pipelines/{body['pipelineName']}"
                "/createRun"
            )
            params = {
                "api-version": "2018-06-01",
                "referencePipelineRunId": body["runId"],
                "isRecovery": "true",
                "startFromFailure": "true",
            }
            response = httpx.post(
                e.adf_base_url + path,
                params=params,
                json={},
                headers={"Authorization": f"Bearer {e.adf_token}"},
                verify=ssl.create_default_context(cafile=e.ca_bundle),
            )
        else:
            response = httpx.post(
                f"{e.databricks_host}/api/2.2/jobs/runs/repair",
                json={"run_id": int(body["runId"]), "rerun_all_failed_tasks": True},
                headers={"Authorization": f"Bearer {e.databricks_token}"},
            )
        response.raise_for_status()
