"""Preference pair files (``train.dpo_pairs``): the standard and TRL's conversational form, round trip, and malformed
files -> one-line errors (``affectagent train dpo`` exits 2 before loading any model)."""
from __future__ import annotations

import json

import pytest

from affectagent.cli import main
from affectagent.errors import InputError
from affectagent.train.dpo_pairs import DPOPair, read_pairs, write_pairs


def test_standard_and_conversational_forms_round_trip(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"prompt": "P1", "chosen": "good", "rejected": "bad", "system": "S", "round": 3}) + "\n\n"
        + json.dumps({"prompt": [{"role": "system", "content": "S2"}, {"role": "user", "content": "u"},
                                 {"role": "assistant", "content": "a"}, {"role": "user", "content": "P2"}],
                      "chosen": [{"role": "assistant", "content": "yes"}],
                      "rejected": [{"role": "assistant", "content": "no"}]}) + "\n")
    a, b = read_pairs(path)
    assert [m.role for m in a.prompt] == ["system", "user"] and a.prompt[-1].content == "P1"
    assert (a.chosen, a.rejected, a.meta) == ("good", "bad", {"round": 3})
    assert len(b.prompt) == 4 and (b.chosen, b.rejected) == ("yes", "no")
    write_pairs([a, b], tmp_path / "out.jsonl")
    assert read_pairs(tmp_path / "out.jsonl") == [a, b]
    assert a.to_dict() == {"prompt": "P1", "chosen": "good", "rejected": "bad", "system": "S", "round": 3}
    assert DPOPair.of("p", "c", "r").to_dict() == {"prompt": "p", "chosen": "c", "rejected": "r"}


BAD = {
    "empty": ("\n\n", "holds no preference pairs"),
    "not json": ('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": oops}\n', "line 2: invalid JSON"),
    "array": ('["p", "c", "r"]\n', "line 1: expected a JSON object"),
    "missing": ('{"prompt": "p", "chosen": "c"}\n', "line 1: missing 'rejected'"),
    "empty answer": ('{"prompt": "p", "chosen": " ", "rejected": "r"}\n', "'chosen' must be a non-empty string"),
    "number": ('{"prompt": 3, "chosen": "c", "rejected": "r"}\n', "'prompt' must be a string or a list"),
    "last turn": ('{"prompt": [{"role": "assistant", "content": "x"}], "chosen": "c", "rejected": "r"}\n',
                  "last message must be a user turn"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_files_raise_one_line_errors(tmp_path, case):
    text, needle = BAD[case]
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as e:
        read_pairs(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("case", ["missing file", "empty", "not json", "missing"])
def test_train_dpo_cli_exits_2_with_one_line(tmp_path, capsys, case):
    path = tmp_path / "p.jsonl"
    if case != "missing file":
        path.write_text(BAD[case][0])
    out = tmp_path / "run"
    assert main(["train", "dpo", "--pairs", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("affectagent: error: ")
    assert ("not found" if case == "missing file" else BAD[case][1]) in err
    assert not out.exists()  # rejected before any work
