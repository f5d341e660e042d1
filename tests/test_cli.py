"""The `shopmind` command line, end to end on a throwaway SQLite store per test."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from shopmind import cli
from shopmind.catalog.store import Store

SMALL_SHOP = ["--items", "300", "--users", "300", "--events", "15000"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing touches ~/.shopmind or $SHOPMIND_STORE; output is not wrapped at 80 columns."""
    monkeypatch.setenv("SHOPMIND_HOME", str(tmp_path))
    monkeypatch.delenv("SHOPMIND_STORE", raising=False)
    # Rich wraps long lines (file paths, messages) at the terminal width; the tests read them whole.
    monkeypatch.setattr(cli, "console", Console(width=500))
    monkeypatch.setattr(cli, "err", Console(stderr=True, width=500))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.sqlite'}"


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(cli.app, [str(a) for a in args])
    assert result.exit_code == code, (
        f"exit {result.exit_code} != {code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}",
        result.exception,
    )
    return result


def stats(url: str) -> dict[str, int]:
    counts: dict[str, int] = json.loads(run("stats", "--store", url).stdout)
    return counts


def generate_small(url: str, *extra: str | Path) -> Result:
    return run("generate", "--store", url, *SMALL_SHOP, *extra)


# -- generate and stats --------------------------------------------------------------------------


def test_generate_then_stats_counts_the_shop(url: str) -> None:
    out = generate_small(url).stdout
    counts = stats(url)
    assert counts["items"] == 300
    assert counts["users"] == 300
    assert 13_500 <= counts["events"] <= 16_500
    per_type = {k: v for k, v in counts.items() if k.startswith("events.")}
    assert sum(per_type.values()) == counts["events"]
    assert {"events.view", "events.purchase", "events.search"} <= set(per_type)
    with Store(url) as store:
        assert store.counts() == counts
    assert f"{counts['events']}" in out  # generate reports what the store now holds


def test_generate_again_adds_no_events(url: str) -> None:
    generate_small(url)
    before = stats(url)
    generate_small(url)
    assert stats(url) == before


def test_generate_truth_is_json_naming_the_planted_pairs(url: str, tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    generate_small(url, "--truth", truth_file)
    truth = json.loads(truth_file.read_text())
    pairs = truth["complementary_pairs"]
    assert len(pairs) > 10
    assert all(len(pair) == 2 and pair[0] != pair[1] for pair in pairs)
    assert len(truth["user_segment"]) == 300
    with Store(url) as store:
        for a, b in pairs[:20]:
            assert store.get_item(a) is not None
            assert store.get_item(b) is not None


def test_generate_refuses_a_shop_too_small_with_a_message(url: str) -> None:
    result = run("generate", "--store", url, "--items", "10", code=2)
    assert "--items" in result.stderr
    assert "154" in result.stderr  # the minimum, from the generator's config
    assert "Traceback" not in result.output


# -- evaluate on the store -----------------------------------------------------------------------


def test_evaluate_store_itemknn_beats_popularity(url: str, tmp_path: Path) -> None:
    generate_small(url)
    out = tmp_path / "out.json"
    result = run(
        "evaluate", "--store", url, "--target", "purchase", "--models", "pop,itemknn", "--json", out
    )
    rows = json.loads(out.read_text())["store"]
    assert set(rows) == {"pop", "itemknn"}
    for row in rows.values():
        assert 0.0 < row["ndcg@10"] <= row["ndcg@50"] <= 1.0
        assert 0.0 < row["recall@10"] <= row["recall@50"] <= 1.0
    # The synthetic shop plants co-purchase structure that popularity cannot see.
    assert rows["itemknn"]["ndcg@10"] > 1.5 * rows["pop"]["ndcg@10"]
    assert f"{rows['itemknn']['ndcg@10']:.4f}" in result.stdout


def test_evaluate_rejects_unknown_models_and_cutoffs_before_any_work(url: str) -> None:
    generate_small(url)
    bad_model = run("evaluate", "--store", url, "--models", "pop,nosuch", code=2)
    assert "nosuch" in bad_model.stderr
    assert "itemknn" in bad_model.stderr  # the choices
    assert "recall@10" not in bad_model.stdout  # nothing was evaluated
    bad_k = run("evaluate", "--store", url, "--models", "pop", "--k", "10,x", code=2)
    assert "--k '10,x'" in bad_k.stderr


def test_evaluate_an_empty_store_says_so(url: str) -> None:
    result = run("evaluate", "--store", url, "--models", "pop", code=2)
    assert "the store holds no events" in result.stderr
    assert "Traceback" not in result.output


def test_evaluate_unknown_target_type_exits_2(url: str) -> None:
    generate_small(url)
    result = run("evaluate", "--store", url, "--target", "purchse", "--models", "pop", code=2)
    assert "purchse" in result.stderr


# -- import items --------------------------------------------------------------------------------


def write_items_with_a_bad_row(tmp_path: Path) -> Path:
    path = tmp_path / "items.csv"
    path.write_text("id,title,price\ni1,Kettle,20.5\ni2,Mug,-3\ni3,Pan,12\n")
    return path


def item_ids(url: str) -> list[str]:
    with Store(url) as store:
        return [item.id for item in store.iter_items()]


def test_import_items_reports_the_bad_row_and_lands_the_good_ones(url: str, tmp_path: Path) -> None:
    path = write_items_with_a_bad_row(tmp_path)
    result = run("import", "items", path, "--store", url, code=1)
    assert f"{path}:3: price: " in result.stderr  # header is line 1, the Mug is line 3
    assert "-3" in result.stderr
    assert f"{path}:2" not in result.stderr and f"{path}:4" not in result.stderr
    assert "3 rows read, 2 loaded, 1 bad" in result.stdout
    assert item_ids(url) == ["i1", "i3"]
    with Store(url) as store:
        kettle = store.get_item("i1")
    assert kettle is not None and kettle.title == "Kettle" and kettle.price == 20.5


def test_import_items_strict_lands_nothing(url: str, tmp_path: Path) -> None:
    path = write_items_with_a_bad_row(tmp_path)
    result = run("import", "items", path, "--store", url, "--strict", code=1)
    assert f"{path}:3: price: " in result.stderr
    assert "rejected (--strict)" in result.stdout
    assert item_ids(url) == []


def test_import_items_strict_undoes_rows_already_written(url: str, tmp_path: Path) -> None:
    # Valid rows are written in chunks of 5,000 inside the transaction; a bad row after the
    # first chunk must undo it.
    path = tmp_path / "many.csv"
    good = "".join(f"i{n},Thing {n},{n}\n" for n in range(6_000))
    path.write_text("id,title,price\n" + good + "bad,Broken,-1\n")
    result = run("import", "items", path, "--store", url, "--strict", code=1)
    assert f"{path}:6002: price: " in result.stderr
    assert "6001 rows read, 0 rejected (--strict), 1 bad" in result.stdout
    assert item_ids(url) == []
    lenient = run("import", "items", path, "--store", url, code=1)
    assert "6001 rows read, 6000 loaded, 1 bad" in lenient.stdout
    assert len(item_ids(url)) == 6_000


def test_import_items_map_renames_columns(url: str, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("sku,name,price,colour\nk1,Kettle,20.5,red\nk2,Mug,3,blue\n")
    result = run("import", "items", path, "--store", url, "--map", "id=sku", "--map", "title=name")
    assert "2 rows read, 2 loaded, 0 bad" in result.stdout
    with Store(url) as store:
        kettle = store.get_item("k1")
    assert kettle is not None
    assert kettle.title == "Kettle"
    assert kettle.attributes == {"colour": "red"}  # an unknown column is kept as an attribute
    # A --map naming a column the file does not have is refused before anything lands.
    wrong = run("import", "items", path, "--store", url, "--map", "id=product", code=2)
    assert "id=product" in wrong.stderr and "sku" in wrong.stderr
    malformed = run("import", "items", path, "--store", url, "--map", "id", code=2)
    assert "field=column" in malformed.stderr


def test_import_format_overrides_the_suffix_and_a_bad_one_is_named(
    url: str, tmp_path: Path
) -> None:
    path = tmp_path / "products.txt"
    path.write_text('{"id": "j1", "title": "Jug"}\n{"id": "j2", "title": "Pot"}\n')
    result = run("import", "items", path, "--store", url, "--format", "jsonl")
    assert "2 rows read, 2 loaded, 0 bad" in result.stdout
    assert item_ids(url) == ["j1", "j2"]
    bad = run("import", "items", path, "--store", url, "--format", "xml", code=2)
    assert "--format xml: choose csv, jsonl or parquet" in bad.stderr
    assert "Traceback" not in bad.output


# -- public benchmark folders ----------------------------------------------------------------------


def test_import_benchmark_then_evaluate_uses_the_given_split(
    url: str, tmp_path: Path, unisrec_toy: Path
) -> None:
    folder = unisrec_toy
    result = run("import", "benchmark", folder, "--store", url)
    assert "Toy (unisrec): 5 items, 2 shoppers, 8 new events" in result.stdout
    again = run("import", "benchmark", folder, "--store", url)
    assert "8 new events" not in again.stdout and "0 new events" in again.stdout
    # A third shopper whose purchases carry no split tag: training data under the given split,
    # but a test user (target A1) if the store were split leave-last-out instead.
    events = tmp_path / "events.csv"
    events.write_text(
        "id,user_id,item_id,type,timestamp\n"
        + "".join(
            f"e{n},U9,{item},purchase,2024-01-0{n}T00:00:00Z\n"
            for n, item in enumerate(["A3", "A4", "A1"], start=1)
        )
    )
    run("import", "events", events, "--store", url)
    out = tmp_path / "out.json"
    run("evaluate", "--store", url, "--models", "pop", "--json", out)
    row = json.loads(out.read_text())["store"]["pop"]
    # Given split: train is U0's A0 A1 A2, U1's A2 and all of U9, so popularity (distinct
    # shoppers, ties to the lower index) ranks A1 A2 A0 A3 A4. Test: U0 wants A4 (rank 5),
    # U1 wants A0 (rank 3). Leave-last-out would give 0.4392 (three test users, another ranking).
    expected = (1 / math.log2(6) + 1 / math.log2(4)) / 2
    assert row["ndcg@10"] == pytest.approx(expected, abs=1e-4)
    assert row["recall@10"] == 1.0  # five items: every target is in the top 10


def test_evaluate_dataset_reads_the_folder_directly(tmp_path: Path, unisrec_toy: Path) -> None:
    folder = unisrec_toy
    out = tmp_path / "out.json"
    run("evaluate", "--dataset", folder, "--models", "pop", "--json", out)
    row = json.loads(out.read_text())["Toy"]["pop"]
    # Train: U0's A0 A1 A2 and U1's A2; popularity ranks A2 A0 A1 A3 A4, and the UniSRec
    # protocol keeps history items. U0 wants A4 (rank 5), U1 wants A0 (rank 2).
    expected = (1 / math.log2(6) + 1 / math.log2(3)) / 2
    assert row["ndcg@10"] == pytest.approx(expected, abs=1e-4)


def test_evaluate_dataset_on_a_plain_folder_names_the_expected_files(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-benchmark"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello\n")
    result = run("evaluate", "--dataset", folder, "--models", "pop", code=2)
    for expected in ("not a benchmark folder", "*.train.inter", "*.inter.json", "Name.txt"):
        assert expected in result.stderr
    assert "Traceback" not in result.output


# -- privacy -------------------------------------------------------------------------------------


def exported(url: str, user_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("export-user", user_id, "--store", url).stdout)
    return data


def test_export_user_prints_their_events_as_json(url: str) -> None:
    generate_small(url)
    data = exported(url, "u00000")
    assert data["user_id"] == "u00000"
    assert data["user"]["user_id"] == "u00000"
    with Store(url) as store:
        stored = store.user_events("u00000")
    assert len(stored) > 0
    assert [e["event_id"] for e in data["events"]] == [e.id for e in stored]
    assert {e["user_id"] for e in data["events"]} == {"u00000"}
    assert {e["type"] for e in data["events"]} <= {e.type for e in stored}


def test_delete_user_removes_them_and_their_events(url: str) -> None:
    generate_small(url)
    before = stats(url)
    n_events = len(exported(url, "u00001")["events"])
    assert n_events > 0
    result = run("delete-user", "u00001", "--store", url)
    assert f"deleted shopper 'u00001' and {n_events} events" in result.stdout
    after = stats(url)
    assert after["events"] == before["events"] - n_events
    assert after["users"] == before["users"] - 1
    gone = {"user_id": "u00001", "user": None, "events": [], "profile": None}
    assert exported(url, "u00001") == gone
    assert len(exported(url, "u00002")["events"]) > 0  # nobody else was touched


# -- the store URL -------------------------------------------------------------------------------


def test_a_bad_store_url_exits_2_with_a_clear_message() -> None:
    result = run("stats", "--store", "foo://x", code=2)
    assert "SQLite or PostgreSQL" in result.stderr
    assert "sqlite:///" in result.stderr  # the fix
    assert "Traceback" not in result.output


def test_the_store_url_can_come_from_the_environment(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_items_with_a_bad_row(tmp_path)
    monkeypatch.setenv("SHOPMIND_STORE", url)
    run("import", "items", path, code=1)
    assert item_ids(url) == ["i1", "i3"]
    assert not (tmp_path / "shopmind.sqlite").exists()  # not the default store


@pytest.mark.postgres
def test_generate_does_not_print_the_store_password(postgres_url: str) -> None:
    # The test server trusts every local connection, so any password is accepted.
    with_password = postgres_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    assert "s3cret-pw" in with_password
    result = run(
        "generate", "--store", with_password, "--items", "200", "--users", "50", "--events", "500"
    )
    assert "s3cret-pw" not in result.output
    assert "***" in result.stdout


# -- demo ------------------------------------------------------------------------------------------


def test_demo_builds_the_shop_and_prints_the_evaluation_table(url: str) -> None:
    fast = ["--models", "pop,itemknn", "--bundle-models", "pop,itemknn", "--no-serve"]
    result = run("demo", "--store", url, *SMALL_SHOP, *fast)
    out = result.stdout
    assert "synthetic shop: models compared on the test split" in out
    for header in ("recall@10", "ndcg@10", "recall@20", "ndcg@20"):
        assert header in out
    rows = {
        line.split("│")[1].strip(): [float(x) for x in line.split("│")[2:6]]
        for line in out.splitlines()
        if line.startswith("│ pop") or line.startswith("│ itemknn")
    }
    assert set(rows) == {"pop", "itemknn"}
    for values in rows.values():
        assert all(0.0 < v <= 1.0 for v in values)
    assert rows["itemknn"][1] > rows["pop"][1]  # ndcg@10
    assert stats(url)["users"] == 300


# -- every command: flags shown as flags, --store and --home alike ---------------------------------


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group of the app, with its path of names."""
    from typer.main import get_command

    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    walk([], get_command(cli.app))
    return found


def test_no_flag_is_shown_as_taking_a_value_in_any_help() -> None:
    checked = 0
    for path, command in _commands():
        shown = CliRunner().invoke(cli.app, [*path, "--help"], env={"COLUMNS": "120"}).output
        assert "<bool>" not in shown, (path, shown)
        for param in command.params:
            names = [*param.opts, *param.secondary_opts]
            if getattr(param, "is_flag", False):
                # The flag's row: its names, then straight to its help text.
                row = next(line for line in shown.splitlines() if names[-1] in line)
                assert "<" not in row.split(names[-1], 1)[1].split(param.help[:10])[0], row
                checked += 1
            elif names and names[0] == "--store":
                assert "<str>" in shown  # option types still show (the test can fail)
    assert checked >= 8  # --verbose, --strict x3, --tune, --mask-history, --validate, ...


DATA_COMMANDS = [
    ["generate"], ["stats"], ["export-user"], ["delete-user"], ["import", "items"],
    ["import", "users"], ["import", "events"], ["import", "benchmark"], ["evaluate"],
    ["demo"], ["train"], ["bundles"], ["serve"],
]  # fmt: skip


def test_every_command_on_data_takes_store_and_home_worded_alike() -> None:
    by_path = {tuple(path): command for path, command in _commands()}
    helps: dict[str, set[str]] = {"--store": set(), "--home": set()}
    for path in DATA_COMMANDS:
        options = {p.opts[0]: p for p in by_path[tuple(path)].params if p.opts}
        for name in helps:
            assert name in options, (path, name)
            helps[name].add(options[name].help)
    assert all(len(texts) == 1 for texts in helps.values()), helps
    assert {p.envvar for path in DATA_COMMANDS for p in by_path[tuple(path)].params
            if p.opts and p.opts[0] in helps} == {"SHOPMIND_STORE", "SHOPMIND_HOME"}  # fmt: skip


def test_bundles_takes_store_and_home_and_marks_another_stores_bundles(
    url: str, tmp_path: Path
) -> None:
    generate_small(url)
    home = tmp_path / "elsewhere"
    trained = run("train", "--store", url, "--home", home, "--models", "pop", "--no-validate")
    # Not a terminal: the steps are plain lines, so a log file shows them too.
    assert "snapshotting the store …" in trained.stdout
    assert "fitting pop: done in " in trained.stdout
    listing = run("bundles", "--store", url, "--home", home).stdout
    [version] = [p.name for p in (home / "bundles").iterdir() if p.name[0].isdigit()]
    assert version in listing and "this store" in listing and "another store" not in listing
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert "another store" in run("bundles", "--store", other, "--home", home).stdout
    assert not (tmp_path / "other.sqlite").exists()  # listing opens no store
    # Without --home the command reads SHOPMIND_HOME (the test's own folder): no bundle there.
    assert version not in run("bundles", "--store", url).stdout
    assert Path(os.environ["SHOPMIND_HOME"]) == tmp_path  # --home did not leak out


def test_export_user_prints_the_apis_export(url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    generate_small(url)
    with Store(url) as store:
        store.upsert_users([store.get_user("u00003").model_copy(update={"attributes": {"a": 1}})])
    with TestClient(create_app(ServeSettings(store=url, home=tmp_path))) as api:
        for shopper in ("u00003", "u00004"):
            from_api = api.get(f"/v1/users/{shopper}/export").json()
            assert exported(url, shopper) == from_api
    assert set(from_api) == {"user_id", "user", "events", "profile"}
    assert from_api["profile"] is None  # no bundle yet to read one against
    assert set(from_api["user"]) == {"user_id", "attributes", "created_at"}
    assert {"event_id", "user_id", "item_id", "type", "timestamp"} <= set(from_api["events"][0])


def test_the_old_store_variable_still_works_with_a_warning(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    generate_small(url)
    monkeypatch.setenv("SHOPMIND_STORE_URL", url)
    with caplog.at_level("WARNING", logger="shopmind.config"):
        counts = stats(url)  # --store given: the old variable is not read
        assert not caplog.records
        result = run("stats")
    assert json.loads(result.stdout) == counts
    [warning] = caplog.records
    assert "SHOPMIND_STORE_URL is deprecated" in warning.getMessage()
    assert "SHOPMIND_STORE" in warning.getMessage().split("rename it to")[1]
    # Both set: the one name wins and the old one is said to be ignored.
    monkeypatch.setenv("SHOPMIND_STORE", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    caplog.clear()
    with caplog.at_level("WARNING", logger="shopmind.config"):
        assert json.loads(run("stats").stdout)["events"] == 0
    assert "SHOPMIND_STORE_URL is ignored" in caplog.text


def test_serve_hands_the_store_to_its_workers_under_the_one_name(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen.update(options, app=app, env={k: v for k, v in os.environ.items() if "SHOP" in k})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("SHOPMIND_STORE_URL", "sqlite:////nowhere/old.sqlite")
    monkeypatch.setenv("SHOPMIND_READ_KEYS", "")
    run("serve", "--workers", "2", "--store", url, "--home", tmp_path / "h")
    assert seen["workers"] == 2 and seen["app"] == "shopmind.serve.worker:create_worker_app"
    assert seen["env"]["SHOPMIND_STORE"] == url
    assert "SHOPMIND_STORE_URL" not in seen["env"]
    assert seen["env"]["SHOPMIND_HOME"] == str((tmp_path / "h").resolve())


def test_profile_prints_what_the_api_answers(url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    generate_small(url)
    home = tmp_path / "home"
    assert (
        "no bundle is active"
        in run("profile", "u00003", "--store", url, "--home", home, code=2).stderr
    )
    run("train", "--store", url, "--home", home, "--models", "pop,content", "--no-validate")
    printed = json.loads(run("profile", "u00003", "--store", url, "--home", home).stdout)
    with TestClient(create_app(ServeSettings(store=url, home=home))) as api:
        answered = api.get("/v1/users/u00003/profile").json()
    assert printed["categories"] == answered["categories"]
    assert printed["activity"] == answered["activity"]
    assert printed["activity"]["events"]
    missing = run("profile", "nobody", "--store", url, "--home", home, code=1)
    assert "nothing is stored about 'nobody'" in missing.stderr
    with_vectors = json.loads(
        run("profile", "u00003", "--store", url, "--home", home, "--vectors").stdout
    )
    assert with_vectors["interests"]  # the content model's texts give interests
    norms = [sum(x * x for x in i["vector"]) ** 0.5 for i in with_vectors["interests"]]
    assert norms and all(abs(n - 1.0) < 1e-3 for n in norms)  # unit vectors
    assert all("vector" not in i for i in printed["interests"])
    listed = json.loads(run("segments", "--home", home, "--json").stdout)
    assert listed["chosen_k"] == len(listed["segments"]) >= 1
    assert printed["segment"]["id"] in {s["id"] for s in listed["segments"]}
    table = run("segments", "--home", home).stdout
    assert listed["segments"][0]["id"] in table and "silhouette" in table
    with TestClient(create_app(ServeSettings(store=url, home=home))) as api:
        bought = [e["item_id"] for e in api.get("/v1/users/u00003/events").json()["events"]]
        wanted = api.get(f"/v1/items/{bought[0]}/audience", params={"k": 7}).json()["members"]
    got = json.loads(run("audience", bought[0], "--store", url, "--home", home, "--k", "7").stdout)
    assert got["members"] == wanted and wanted
    as_csv = run("audience", bought[0], "--store", url, "--home", home, "--k", "7", "--csv")
    assert as_csv.stdout.splitlines()[0] == "user_id,score,reason"
    assert [r.split(",")[0] for r in as_csv.stdout.splitlines()[1:]] == [
        m["user_id"] for m in wanted
    ]
    assert (
        "no item 'nope'" in run("audience", "nope", "--store", url, "--home", home, code=1).stderr
    )
    # What goes with an item: the API's answer, each with its evidence and reason.
    with TestClient(create_app(ServeSettings(store=url, home=home))) as api:
        goes = api.get(f"/v1/items/{bought[0]}/complementary", params={"k": 5}).json()["items"]
    printed_goes = json.loads(
        run("complements", bought[0], "--store", url, "--home", home, "--k", "5").stdout
    )
    assert [i["item_id"] for i in printed_goes["items"]] == [i["item_id"] for i in goes]
    assert all(i["reason"].startswith("goes with") and i["evidence"] for i in printed_goes["items"])
    assert (
        "no item 'nope'"
        in run("complements", "nope", "--home", home, "--store", url, code=1).stderr
    )
    # Search: the API's interpretation and results, for the same shopper.
    asked = {"q": "camera under 500", "user_id": "u00003", "k": 5}
    with TestClient(create_app(ServeSettings(store=url, home=home))) as api:
        found = api.get("/v1/search", params=asked).json()
    printed_found = json.loads(
        run(
            "search", "camera under 500", "--user", "u00003", "--store", url, "--home", home,
            "--k", "5",
        ).stdout
    )  # fmt: skip
    assert printed_found["interpretation"] == found["interpretation"]
    assert printed_found["interpretation"]["max_price"] == 500
    assert [i["item_id"] for i in printed_found["items"]] == [i["item_id"] for i in found["items"]]
    assert found["items"] and all(i["reason"] for i in printed_found["items"])
