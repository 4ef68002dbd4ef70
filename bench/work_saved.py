"""Work saved: activities (ADF) and tasks (Databricks) executed again by rerun-from-failure and
repair, against a full rerun, over the sandbox's single-type scenarios."""

from __future__ import annotations

from autoheal.app.rehearsal import rehearse
from autoheal.domain.catalog import load_catalog
from bench.common import report, smoke
from sandbox.scenario import bundled_scenarios, load_scenario


def main() -> None:
    catalog = load_catalog()
    names = bundled_scenarios(single_type=True)[: 3 if smoke() else None]
    rows, per_scenario = [], {}
    total_fix = total_full = 0
    for name in names:
        scenario = load_scenario(name)
        result = rehearse(scenario, catalog)
        if scenario.adf.factories:
            failed = next(
                r.pipeline
                for r in scenario.adf.runs
                if any(
                    a.fail_times or a.requires_upstream
                    for f in scenario.adf.factories
                    for p in f.pipelines
                    if p.name == r.pipeline
                    for a in p.activities
                )
            )
            full = next(len(p.activities) for f in scenario.adf.factories for p in f.pipelines if p.name == failed)
            fix, unit = result.counts["activity_executions_in_recovery"], "activities"
        else:
            full = len(scenario.databricks.jobs[0].tasks)
            fix, unit = result.counts["task_executions_in_repairs"], "tasks"
        runs = max(1, len([a for a in result.attempts if a.outcome and a.outcome.created_ids]))
        total_fix += fix
        total_full += full * runs
        per_scenario[name] = {
            "unit": unit,
            "rerun_from_failure": fix,
            "full_rerun": full * runs,
            "healed": result.healed,
        }
        rows.append((f"{name} ({unit})", f"{fix} vs {full * runs} full"))
    saved = 1 - total_fix / total_full if total_full else 0.0
    rows.append(("executed again, all scenarios", f"{total_fix} vs {total_full} for full reruns"))
    rows.append(("work saved", f"{saved:.0%}"))
    report(
        "work_saved",
        "Work re-executed: rerun-from-failure and repair vs full rerun",
        rows,
        {"scenarios": per_scenario, "executed": total_fix, "full_rerun": total_full, "saved_fraction": saved},
    )


if __name__ == "__main__":
    main()
