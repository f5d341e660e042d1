"""Research: do profile features help the ranker? (Issue 14's ablation.)

On a home's served bundle (``benchmarks/ranking.py`` trains them), the profile feature family
(``shopmind.profiles.features``: the candidate's leaf, top-category and brand affinity in the
profile's weighting, and its price percentile against the shopper's band) is computed beside the
served features. LightGBM is refitted on the ranker's own training rows with and without the
family, as training fits it (same rows, seed and early stopping on the same held-out groups),
and the three are served through the pipeline on the held-out validation shoppers the bundle
recorded. The served bundles do not use the family: these are research figures.

    python benchmarks/profile_features.py --home /tmp/ranking-homes/amazon-scientific [--home …]

Writes ``benchmarks/results/profile_features.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from ranking import figures, held_out, load_average, opened, paired_gain, serve_variants
from shopmind.evaluation.pipeline import slates_for
from shopmind.evaluation.report import write_json
from shopmind.profiles.features import NAMES, register
from shopmind.training import ranker as ranking
from shopmind.training.ranker import RankerRows

RESULTS = Path(__file__).parent / "results"


def ablate(home: Path) -> dict[str, Any]:
    register()
    out: dict[str, Any] = {"home": str(home)}
    with opened(home) as o:
        config = o.bundle.manifest.config
        k = max(config.ks)
        ks = tuple(sorted(set(config.ks)))
        fit_rows, held = held_out(o)
        start = time.perf_counter()
        fit_slates = slates_for(o.pipeline, o.ctx, o.engine.items, fit_rows, k, "features")
        held_slates = slates_for(o.pipeline, o.ctx, o.engine.items, held, k, "features")
        names = list(next(s.feature_names for s in fit_slates if s.features is not None))
        fit = ranking.ranker_rows(fit_slates, fit_rows)
        check = ranking.ranker_rows(held_slates, held)
        del fit_slates, held_slates
        out["features_seconds"] = round(time.perf_counter() - start, 1)
        served_names = list(o.pipeline.scorer.names)
        without = [names.index(n) for n in served_names]
        seed = config.seed

        def refit(cols: list[int]) -> Any:
            part = RankerRows(fit.features[:, cols], fit.labels, fit.groups)
            held_part = RankerRows(check.features[:, cols], check.labels, check.groups)
            return ranking.fit_lightgbm(part, held_part, [names[j] for j in cols], seed=seed)

        rules = o.pipeline.rules
        variants = {
            f"served ({o.pipeline.scorer.kind})": (o.pipeline.scorer, rules),
            "lightgbm refit, served features": (refit(without), rules),
            "lightgbm refit, + profile features": (
                refit(without + [names.index(n) for n in NAMES]),
                rules,
            ),
        }
        with_profile = variants["lightgbm refit, + profile features"][0]
        gain = dict(
            zip(with_profile.names, with_profile.booster.feature_importance("gain"), strict=True)
        )
        total = float(sum(gain.values())) or 1.0
        out["profile_gain_share"] = {n: round(float(gain[n]) / total, 4) for n in NAMES}
        done = serve_variants(o, held, variants, k)
        rows = {name: figures(lists, held, ks) for name, lists in done["served"].items()}
        base = rows["lightgbm refit, served features"]["per_row"]
        for row in rows.values():
            row["vs refit without profile (ndcg@10)"] = paired_gain(row["per_row"], base)
            del row["per_row"]
        out |= {
            "bundle": o.bundle.version,
            "held_out_rows": len(held),
            "fit_groups": int(fit.n_groups),
            "check": done["check"],
            "rows": rows,
            "missing_share": {
                n: round(float(np.isnan(check.features[:, names.index(n)]).mean()), 4)
                for n in NAMES
            },
        }
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Profile features in the ranker (research: the served bundles do not use them)",
        "",
        f"Machine: {result['machine']}; load before → after {result['load_before']} → "
        f"{result['load_after']}. Command: `python benchmarks/profile_features.py "
        + " ".join(f"--home {r['home']}" for r in result["homes"])
        + "`.",
        "",
        "LightGBM refitted on the bundle's own ranker rows with and without the profile family "
        f"({', '.join(NAMES)}), served through the pipeline on the held-out validation shoppers.",
        "",
    ]
    for r in result["homes"]:
        lines += [
            f"## {Path(r['home']).name} (bundle {r['bundle']}, {r['held_out_rows']} held-out rows)",
            "",
            "| variant | R@10 | N@10 | N@10 vs refit without (95% CI) |",
            "| --- | ---: | ---: | --- |",
        ]
        for name, row in r["rows"].items():
            g = row["vs refit without profile (ndcg@10)"]
            lines.append(
                f"| {name} | {row['recall@10']:.4f} | {row['ndcg@10']:.4f} | "
                f"{g['mean']:+.4f} [{g['low']:+.4f}, {g['high']:+.4f}] |"
            )
        lines += [
            "",
            f"Share of the refit's gain on the profile columns: {r['profile_gain_share']}; "
            f"share of held-out candidates where a column is unknown: {r['missing_share']}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, action="append", required=True)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine_summary(), "load_before": load_average()}
    result["homes"] = [ablate(home) for home in args.home]
    result["load_after"] = load_average()
    write_json(RESULTS / "profile_features.json", result)
    (RESULTS / "profile_features.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
