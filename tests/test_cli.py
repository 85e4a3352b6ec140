"""The kaizen command line, as a person runs it."""

import json
import subprocess
import sys

from conftest import RETAILROCKET
from kaizen.config import PROJECT_DIR


def kaizen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kaizen", *args], cwd=PROJECT_DIR, capture_output=True, text=True)


def test_evaluate_on_the_retailrocket_week_matches_the_literature_protocol():
    result = kaizen("evaluate", "--train", str(RETAILROCKET), "--format", "retailrocket", "--model", "vstan")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["predictions"] == 1387
    assert metrics["hr_20"] >= 0.77 and metrics["mrr_20"] >= 0.535


def test_evaluate_with_separate_files_and_params(tmp_path):
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text(
        "SessionId\tItemId\tTime\n"
        + "".join(f"{s}\t{i}\t{s * 100 + n}\n" for s in range(1, 40) for n, i in enumerate((1, 2, 3)))
    )
    test.write_text("SessionId\tItemId\tTime\n900\t1\t9000\n900\t2\t9001\n900\t3\t9002\n")
    result = kaizen(
        "evaluate",
        "--train",
        str(train),
        "--test",
        str(test),
        "--format",
        "sessionrec",
        "--model",
        "sr",
        "--param",
        "steps=2",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["params"] == {"steps": 2}
    assert metrics["predictions"] == 2 and metrics["hr_5"] == 1.0 and metrics["mrr_5"] == 1.0


def test_unknown_model_is_a_clear_error():
    result = kaizen("evaluate", "--train", str(RETAILROCKET), "--format", "retailrocket", "--model", "gpt")
    assert result.returncode == 1
    assert "unknown model 'gpt'" in result.stderr
