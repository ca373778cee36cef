"""The dashboard's variables: data source, the exporter's jobs, and the label filters."""

from __future__ import annotations

import queries as q
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cog
from grafana_foundation_sdk.models import dashboard as model
from panels import DATASOURCE


def query_variable(name: str, label: str, selector: str, description: str) -> dash.QueryVariable:
    return (
        dash.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DATASOURCE)
        .query(f"label_values({selector}, {name})")
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


LABELS = {
    "job": "Job",
    "instance": "Instance",
    "account": "Account",
    "project": "Project",
    "region": "Region",
    "type": "Bucket type",
}
DESCRIPTIONS = {
    "job": "Prometheus job(s) scraping the exporter (/metrics or /probe), from up.",
    "instance": "Exporter instance(s); in /probe mode the ACCOUNT/REGION probe targets.",
    "account": "UCloud account(s) as named in the exporter configuration.",
    "project": "UCloud project(s) (ProjectId) of the selected accounts; 'default' for an "
    "account whose key may not list its projects.",
    "region": "UCloud region(s).",
    "type": "Bucket type: private, public (unknown for an unrecognised BucketType).",
}


def variables() -> list[cog.Builder[model.VariableModel]]:
    found: list[cog.Builder[model.VariableModel]] = [
        dash.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .description("The Prometheus server that scrapes the exporter."),
        dash.ConstantVariable("exporter_jobs")
        .value(q.EXPORTER_JOBS)
        .description(
            "Regex of the exporter's job names, for Prometheus's own up (which "
            "every job has). Same default as the alerts; change it on import if "
            "your job is named otherwise."
        ),
    ]
    found += [
        query_variable(name, LABELS[name], selector, DESCRIPTIONS[name])
        for name, selector in q.VARIABLES
    ]
    found.append(
        dash.TextBoxVariable("bucket")
        .label("Bucket (regex)")
        .default_value(".*")
        .current(model.VariableOption(selected=False, text=".*", value=".*"))
        .description(
            "Regular expression on the bucket name, for the per-bucket tables. "
            "Anchored by Prometheus: use prod-.* for names starting with prod-."
        )
    )
    return found
