"""`make screenshots`: the demo, then headless Chromium (Debian's `chromium`) photographs the Prefect UI:
the runs list, one escalated run's page, and the report artifact. Images go to docs/. Not part of CI.

    .venv/bin/python scripts/screenshots.py [--chromium /usr/bin/chromium] [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shoot(chromium: str, url: str, out: Path, *, width: int = 1440, height: int = 900) -> None:
    """One screenshot after the single-page app has had time to fetch and render."""
    with tempfile.TemporaryDirectory(prefix="autoheal-chromium-") as profile:
        subprocess.run(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "--virtual-time-budget=15000",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"{out.relative_to(ROOT)}  <- {url}")


async def _report_artifact_id(api_url: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["autoheal-report"]))
            )
    return str(found[-1].id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".autoheal" / "screenshots")
    args = parser.parse_args()

    from autoheal import services
    from autoheal.app.demo import Outside, demo_stack, run_demo
    from flows.report import request_report

    args.out.mkdir(parents=True, exist_ok=True)
    outside = Outside()
    stack = demo_stack(args.workdir, outside.start(args.workdir))
    try:
        stack.start()
        assert stack.sandbox is not None and stack.sandbox.endpoints is not None
        outside.logic_app.sandbox = stack.sandbox.endpoints
        run_demo(stack)
        request_report(stack.api_url, 24)
        escalated = next(i for i in services.get_store().incidents() if i.status == "escalated")
        ui = stack.ui_url
        shoot(args.chromium, f"{ui}/runs", args.out / "runs-list.png", height=1700)
        shoot(args.chromium, f"{ui}/runs/flow-run/{escalated.flow_run_id}", args.out / "run-escalated.png", height=1300)
        artifact = asyncio.run(_report_artifact_id(stack.api_url))
        shoot(args.chromium, f"{ui}/artifacts/artifact/{artifact}", args.out / "report-artifact.png", height=1500)
    finally:
        stack.stop()
        outside.stop()


if __name__ == "__main__":
    main()
