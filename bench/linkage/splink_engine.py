"""The same linkage with Splink on DuckDB, for the comparison benchmark.

Splink gets every advantage Birge's engine has, so the comparison measures
the engines and not the preparation: the same folded names, roots and
skeletons (birge.core.names via records.prepare, run in the same number of
processes), the same comparison levels, the same union of blocking rules,
m trained on pairs sharing a valid PIN (``estimate_m_from_label_column``),
u from random sampling, term-frequency adjustments on names, the same prior,
the same fixed m for the PIN comparison (it cannot be learned from pairs
selected by it) and the same greedy one-to-one assignment at the same
threshold.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

import pyarrow as pa

from birge.exchange.linkage import blocking
from birge.exchange.linkage.io import RegisterFile
from birge.exchange.linkage.model import PIN_M
from birge.exchange.linkage.records import (
    DISTRICT, DOB, FAMILY, FATHER, GIVEN, GIVEN_CYR, ID, PIN, PIN_OK, PIN_VALID, REGION, SETTLEMENT, SEX, SKEL, YEAR,
)

COLUMNS = ["unique_id", "pin", "pin_label", "given", "given_cyr", "given_skel", "family", "father", "dob",
           "dob_swapped", "dob_date", "dob_ym", "year", "sex", "region", "district", "settlement"]


def _columns(records) -> dict[str, list]:
    cols = {c: [] for c in COLUMNS}
    for r in records:
        dob = r[DOB] or None
        cols["unique_id"].append(r[ID])
        cols["pin"].append(r[PIN] or None)
        cols["pin_label"].append(r[PIN] if r[PIN_OK] >= PIN_VALID else None)
        cols["given"].append(r[GIVEN] or None)
        cols["given_cyr"].append(r[GIVEN_CYR] or None)
        cols["given_skel"].append(r[SKEL] or None)
        cols["family"].append(r[FAMILY] or None)
        cols["father"].append(r[FATHER] or None)
        cols["dob"].append(dob)
        cols["dob_swapped"].append(blocking.swapped(r[DOB]) if dob else None)
        cols["dob_date"].append(f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if dob else None)
        cols["dob_ym"].append(dob[:6] if dob else None)
        cols["year"].append(r[YEAR] or None)
        cols["sex"].append(r[SEX] or None)
        cols["region"].append(r[REGION] or None)
        cols["district"].append(r[DISTRICT] or None)
        cols["settlement"].append(r[SETTLEMENT] or None)
    return cols


def _prepare_part(part) -> dict[str, list]:
    return _columns(part)


def prepared_table(path, workers: int) -> tuple[pa.Table, int, int]:
    """(arrow table, records, records with a valid PIN) of a register file, prepared in ``workers`` processes."""
    reg = RegisterFile(path)
    parts = reg.split(workers) if workers > 1 else None
    if parts and len(parts) > 1:
        with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
            chunks = pool.map(_prepare_part, parts, chunksize=1)
    else:
        chunks = [_columns(reg)]
    cols = {c: [v for ch in chunks for v in ch[c]] for c in COLUMNS}
    table = pa.table(cols)
    table = table.set_column(table.schema.get_field_index("dob_date"), "dob_date",
                             table.column("dob_date").cast(pa.date32()))
    n = table.num_rows
    valid = n - table.column("pin_label").null_count
    return table, n, valid


def _settings(prior: float):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    def name_comparison(col):
        return cl.CustomComparison(output_column_name=col, comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            cll.Or(cll.DamerauLevenshteinLevel(col, 1), cll.JaroWinklerLevel(col, 0.92)),
            cll.ElseLevel(),
        ])

    both_family = "family_l IS NOT NULL AND family_r IS NOT NULL"
    cross = ("(father_l IS NULL OR father_r IS NULL) AND COALESCE(family_l, father_l) IS NOT NULL "
             "AND COALESCE(family_r, father_r) IS NOT NULL")
    cross_eq = (f"{cross} AND (damerau_levenshtein(COALESCE(family_l, father_l), COALESCE(family_r, father_r)) <= 1 "
                "OR jaro_winkler_similarity(COALESCE(family_l, father_l), COALESCE(family_r, father_r)) >= 0.92)")
    family = cl.CustomComparison(output_column_name="family", comparison_levels=[
        {"sql_condition": f"NOT ({both_family}) AND NOT ({cross})", "label_for_charts": "n/a", "is_null_level": True},
        {"sql_condition": "family_l = family_r", "label_for_charts": "equal",
         "tf_adjustment_column": "family", "tf_adjustment_weight": 1.0},
        {"sql_condition": f"{both_family} AND (damerau_levenshtein(family_l, family_r) <= 1 "
                          "OR jaro_winkler_similarity(family_l, family_r) >= 0.92)", "label_for_charts": "typo"},
        {"sql_condition": both_family, "label_for_charts": "different"},
        {"sql_condition": cross_eq, "label_for_charts": "cross equal"},
        {"sql_condition": "ELSE", "label_for_charts": "cross different"},
    ])
    given = cl.CustomComparison(output_column_name="given", comparison_levels=[
        cll.NullLevel("given"),
        cll.ExactMatchLevel("given", term_frequency_adjustments=True),
        cll.Or(cll.DamerauLevenshteinLevel("given", 1), cll.DamerauLevenshteinLevel("given_cyr", 1),
               cll.JaroWinklerLevel("given", 0.92)),
        cll.JaroWinklerLevel("given", 0.80),
        cll.ElseLevel(),
    ])
    pin_near = "length(pin_l) = length(pin_r) AND damerau_levenshtein(pin_l, pin_r) <= 1"
    pin = cl.CustomComparison(output_column_name="pin", comparison_levels=[
        {"sql_condition": f"pin_l IS NULL OR pin_r IS NULL OR (pin_l <> pin_r AND NOT ({pin_near}) "
                          "AND (pin_label_l IS NULL OR pin_label_r IS NULL))",
         "label_for_charts": "n/a", "is_null_level": True},
        {"sql_condition": "pin_l = pin_r", "label_for_charts": "equal"},
        {"sql_condition": pin_near, "label_for_charts": "one typo apart"},
        {"sql_condition": "ELSE", "label_for_charts": "different valid PINs"},
    ])
    dob = cl.CustomComparison(output_column_name="dob", comparison_levels=[
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob"),
        {"sql_condition": "dob_l = dob_swapped_r", "label_for_charts": "day and month swapped"},
        {"sql_condition": "abs(date_diff('day', dob_date_l, dob_date_r)) <= 3 "
                          "OR damerau_levenshtein(dob_l, dob_r) <= 1", "label_for_charts": "near"},
        {"sql_condition": "abs(date_diff('day', dob_date_l, dob_date_r)) <= 366", "label_for_charts": "within a year"},
        cll.ElseLevel(),
    ])
    sex = cl.ExactMatch("sex")
    territory = cl.CustomComparison(output_column_name="territory", comparison_levels=[
        {"sql_condition": "region_l IS NULL OR region_r IS NULL", "label_for_charts": "n/a", "is_null_level": True},
        {"sql_condition": "district_l = district_r AND settlement_l = settlement_r", "label_for_charts": "settlement"},
        {"sql_condition": "district_l = district_r", "label_for_charts": "district"},
        {"sql_condition": "region_l = region_r", "label_for_charts": "region"},
        cll.ElseLevel(),
    ])
    roots = ("family", "father")
    rules = ["l.pin = r.pin",
             "l.given_skel = r.given_skel AND l.dob = r.dob",
             "l.given_skel = r.given_skel AND l.dob_swapped = r.dob",
             "l.district = r.district AND l.dob = r.dob"]
    for a in roots:
        for b in roots:
            rules += [f"l.{a} = r.{b} AND l.dob = r.dob",
                      f"l.{a} = r.{b} AND l.dob_swapped = r.dob",
                      f"l.given = r.given AND l.{a} = r.{b} AND l.district = r.district"]
    return SettingsCreator(
        link_type="link_only",
        comparisons=[pin, given, name_comparison("father"), family, dob, sex, territory],
        blocking_rules_to_generate_predictions=rules,
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
    )


def run(left_path, right_path, out_path, *, link_threshold: float, review_threshold: float, workers: int,
        seed: int = 1) -> dict:
    """Link with Splink; write ``left_id,right_id,score``; return timings and counts."""
    from splink import DuckDBAPI, Linker

    from birge.exchange.linkage.engine import _prior

    t0 = time.perf_counter()
    left, n_left, left_valid = prepared_table(left_path, workers)
    right, n_right, right_valid = prepared_table(right_path, workers)
    t_prep = time.perf_counter() - t0

    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    con.execute(f"SET threads TO {max(workers, 1)}").fetchall()
    l_sdf = db_api.register(left, dataset_display_name="left_register")
    r_sdf = db_api.register(right, dataset_display_name="right_register")
    # the prior as Birge's engine computes it: share of valid-PIN RIGHT records with a PIN partner in LEFT
    con.register("l_arrow", left)
    con.register("r_arrow", right)
    partners = con.execute("SELECT count(DISTINCT r.unique_id) FROM r_arrow r JOIN l_arrow l "
                           "ON l.pin_label = r.pin_label").fetchall()[0][0]
    prior = _prior(partners, right_valid, left_valid, n_left)

    linker = Linker([l_sdf, r_sdf], _settings(prior), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    linker.training.estimate_m_from_label_column("pin_label")
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name == "pin":
            levels = [lvl for lvl in comparison.comparison_levels if not lvl.is_null_level]
            for lvl, m in zip(levels, PIN_M[1:]):
                lvl.m_probability = m
    t_train = time.perf_counter() - t0 - t_prep
    pred = linker.inference.predict(threshold_match_probability=review_threshold)
    rows = con.execute(f"SELECT unique_id_l, unique_id_r, match_weight, match_probability FROM {pred.physical_name} "
                       f"WHERE match_probability >= {link_threshold} "
                       "ORDER BY match_weight DESC, unique_id_l, unique_id_r"
                       ).fetchall()
    n_pred = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0]
    t_predict = time.perf_counter() - t0 - t_prep - t_train
    left_taken, right_taken, links = set(), set(), []
    for lid, rid, _w, p in rows:
        if lid in left_taken or rid in right_taken:
            continue
        left_taken.add(lid)
        right_taken.add(rid)
        links.append((lid, rid, p))
    links.sort()
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("left_id,right_id,score\n")
        for lid, rid, p in links:
            f.write(f"{lid},{rid},{p:.6f}\n")
    return {"prepare_s": round(t_prep, 2), "train_s": round(t_train, 2), "predict_s": round(t_predict, 2),
            "pairs_above_review": n_pred, "links": len(links), "threads": max(workers, 1), "pid": os.getpid()}
