"""Panel and query builders shared by the dashboard (grafana-foundation-sdk).

Every panel built here uses the ``${datasource}`` variable and has a title, a
description and a unit; every query is a Prometheus query in code mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import (
    bargauge,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Min step of every range query: with the 60 s scrape interval the exporter is meant for,
# Grafana's $__rate_interval is then at least 4m.
MIN_STEP = "1m"

Panel = stat.Panel | timeseries.Panel | table.Panel | statetimeline.Panel | bargauge.Panel


def query(
    expr: str,
    legend: str = "__auto",
    ref: str = "A",
    *,
    instant: bool = False,
    table_format: bool = False,
) -> prometheus.Dataquery:
    target = (
        prometheus.Dataquery()
        .expr(expr)
        .ref_id(ref)
        .datasource(DATASOURCE)
        .editor_mode(QueryEditorMode.CODE)
        .legend_format(legend)
    )
    if table_format:
        target = target.format(PromQueryFormat.TABLE)
    return target.instant() if instant else target.range().interval(MIN_STEP)


def steps(*pairs: tuple[str, float | None]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for color, value in pairs])
    )


GREEN = (("green", None),)
RED_FROM_1 = (("green", None), ("red", 1))


def updown(down: str = "DOWN", up: str = "UP") -> list[model.ValueMapping]:
    return [
        model.ValueMap(
            options={
                "0": model.ValueMappingResult(text=down, color="red", index=0),
                "1": model.ValueMappingResult(text=up, color="green", index=1),
            }
        )
    ]


def stat_panel(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    unit: str = "none",
    thresholds: Sequence[tuple[str, float | None]] = GREEN,
    no_value: str | None = None,
    graph: bool = True,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .decimals(0)
        .with_target(target)
        .thresholds(steps(*thresholds))
        .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .graph_mode(common.BigValueGraphMode.AREA if graph else common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return panel.no_value(no_value) if no_value else panel


def timeseries_panel(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    unit: str = "none",
    decimals: int | None = None,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .with_target(target)
        .thresholds(steps(*GREEN))
        .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    return panel.decimals(decimals) if decimals is not None else panel


def state_panel(title: str, description: str, target: prometheus.Dataquery) -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit("none")
        .with_target(target)
        .mappings(updown())
        .thresholds(steps(("red", None), ("green", 1)))
        .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .fill_opacity(80)
        .line_width(0)
        .merge_values(True)
        .row_height(0.9)
        .show_value(common.VisibilityMode.AUTO)
        .legend(common_builders.VizLegendOptions().show_legend(False))
    )


def bargauge_panel(
    title: str,
    description: str,
    target: prometheus.Dataquery,
    *,
    limit: float,
    thresholds: Sequence[tuple[str, float | None]],
) -> bargauge.Panel:
    """Horizontal bars of the last value of each series, from 0 to ``limit``."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit("none")
        .decimals(0)
        .min(0)
        .max(limit)
        .with_target(target)
        .thresholds(steps(*thresholds))
        .color_scheme(dash.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def organize(
    columns: Sequence[tuple[str, str]], hide: Sequence[str]
) -> model.DataTransformerConfig:
    """Keep ``columns`` (source name, shown name) in that order; hide ``hide``."""
    return model.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": dict.fromkeys(hide, True),
            "indexByName": {source: index for index, (source, _) in enumerate(columns)},
            "renameByName": {source: shown for source, shown in columns if source != shown},
        },
    )


MERGE = model.DataTransformerConfig(id_val="merge", options={})
HIDDEN = ("Time", "__name__", "job", "instance")
BUCKET_COLUMNS = (
    ("bucket", "Bucket"),
    ("account", "Account"),
    ("project", "Project"),
    ("region", "Region"),
    ("type", "Type"),
)


def table_panel(
    title: str,
    description: str,
    targets: Sequence[tuple[str, str]],
    columns: Sequence[tuple[str, str]],
    *,
    hide: Sequence[str] = HIDDEN,
    sort_by: str,
    unit: str = "none",
) -> table.Panel:
    """An instant-query table; several queries (refId, expr) are merged into one row each."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .thresholds(steps(*GREEN))
        .filterable(True)
        .cell_height(common.TableCellHeight.SM)
        .show_header(True)
        .sort_by([common_builders.TableSortByFieldState().display_name(sort_by).desc(True)])
    )
    for ref, expr in targets:
        panel = panel.with_target(query(expr, ref=ref, instant=True, table_format=True))
    if len(targets) > 1:
        panel = panel.with_transformation(MERGE)
    return panel.with_transformation(organize(columns, hide))
