"""The Python facade and the predict / evaluate / train CLIs on a tiny real checkpoint."""
import json

import pytest

from affectagent.api import AffectAgent
from affectagent.cli import main
from affectagent.schema import CANONICAL_EMOTIONS


def test_checkpoint_records_provenance_and_kb(tiny_checkpoint):
    agent = AffectAgent.load(tiny_checkpoint, log=lambda m: None)
    assert agent.kb_path == tiny_checkpoint.parent / "kb"
    assert [c["name"] for c in agent.checkpoint.provenance["corpora"]] == ["meld", "emodb", "fer2013"]
    info = agent.pipeline.source.kb.info()
    assert info.entries == 300 + 40 + 30
    assert info.vectors["audio"] == 40 and info.vectors["visual"] == 30


def test_a_training_folder_loads_its_agents_and_a_folder_without_them_is_a_clear_error(tiny_checkpoint, tmp_path):
    from affectagent.agents.checkpoint import CheckpointError

    assert tiny_checkpoint.name == "agents.pt"
    agent = AffectAgent.load(tiny_checkpoint.parent, log=lambda m: None)  # `train sft --out DIR` → DIR works
    assert agent.kb_path == tiny_checkpoint.parent / "kb"
    with pytest.raises(CheckpointError, match="checkpoint not found: .*agents.pt"):
        AffectAgent.load(tmp_path, log=lambda m: None)


def test_predict_text_with_context_cites_kb_evidence(tiny_checkpoint):
    agent = AffectAgent.load(tiny_checkpoint, log=lambda m: None)
    [p] = agent.predict_texts(["Oh my God, this is the best day of my life!"], contexts=[[("Ross", "We won!")]],
                              explain=True)
    assert p.label in CANONICAL_EMOTIONS and abs(sum(p.probs.values()) - 1) < 1e-4
    assert p.trace["candidates"], "the planner's queries retrieved nothing"
    cands = p.trace["candidates"]
    assert {"support", "confusion"} <= {c["kind"] for c in cands}
    assert all(c["id"].startswith(("meld/", "emodb/", "fer2013/")) for c in cands)
    # the answer carries exactly the kept candidates, and the rationale cites up to five of them by id
    # (those agreeing with the label first) or says that none was kept
    kept = [c for c in cands if c["keep"]]
    assert [e.id for e in p.evidence] == [c["id"] for c in kept]
    if kept:
        cited = ([e for e in p.evidence if e.label == p.label] + [e for e in p.evidence if e.label != p.label])[:5]
        assert f"Evidence kept {len(kept)} (dropped {len(cands) - len(kept)})" in p.rationale
        assert all(f"[{e.id}]" in p.rationale for e in cited)
    else:
        assert "No retrieved evidence was kept" in p.rationale


def test_restricted_label_set(tiny_checkpoint):
    agent = AffectAgent.load(tiny_checkpoint, log=lambda m: None)
    [p] = agent.predict_texts(["I hate this."], label_set=["happy", "angry"])
    assert set(p.probs) == {"happy", "angry"}


def test_cli_predict_json_and_errors(tiny_checkpoint, capsys):
    assert main(["predict", "--text", "You did WHAT?", "--checkpoint", str(tiny_checkpoint), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label"] in CANONICAL_EMOTIONS and "trace" not in out and "rationale" in out  # trace: --explain
    assert main(["predict", "--text", "You did WHAT?", "--checkpoint", str(tiny_checkpoint), "--json",
                 "--explain"]) == 0
    assert json.loads(capsys.readouterr().out)["trace"]["candidates"]
    assert main(["predict", "--text", "hi", "--checkpoint", str(tiny_checkpoint), "--labels", "happy,joyish"]) == 2
    assert "joyish" in capsys.readouterr().err
    assert main(["predict", "--text", "hi", "--checkpoint", str(tiny_checkpoint.parent / "nope.pt")]) == 2
    assert main(["predict", "--text", "   "]) == 2
    assert main(["predict", "--text", "hi", "--checkpoint", str(tiny_checkpoint), "--variant", "bogus"]) == 2


def test_cli_predict_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["predict", "--text", "hi", "--checkpoint", str(bad)]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err


def test_cli_evaluate_meld_dev_json(tiny_checkpoint, tmp_path, capsys):
    rc = main(["evaluate", "--dataset", "meld", "--split", "dev", "--limit", "40", "--checkpoint",
               str(tiny_checkpoint), "--out", str(tmp_path), "--json"])
    assert rc == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 40
    for k in ("weighted_f1", "macro_f1", "uar", "war", "hit"):
        assert 0.0 <= m[k] <= 1.0
    assert (tmp_path / "meld-dev-full" / "confusion.png").stat().st_size > 0
    rows = [json.loads(r) for r in (tmp_path / "meld-dev-full" / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and all(r["gold"] in CANONICAL_EMOTIONS for r in rows)
    # the reported scores are those of the written predictions (recomputed independently with scikit-learn)
    from sklearn.metrics import accuracy_score, f1_score

    from affectagent.datasets import label_space

    gold, pred = [r["gold"] for r in rows], [r["label"] for r in rows]
    assert m["war"] == pytest.approx(accuracy_score(gold, pred))
    assert m["weighted_f1"] == pytest.approx(f1_score(gold, pred, labels=list(label_space("meld").canonical),
                                                      average="weighted", zero_division=0))


def test_cli_evaluate_missing_test_split(tiny_checkpoint, capsys):
    rc = main(["evaluate", "--dataset", "meld", "--split", "test", "--checkpoint", str(tiny_checkpoint)])
    assert rc == 2
    assert "test_sent_emo.csv" in capsys.readouterr().err


def test_cli_evaluate_audio_corpus_notes_in_sample(tiny_checkpoint, tmp_path, capsys):
    rc = main(["evaluate", "--dataset", "emodb", "--split", "all", "--limit", "20", "--checkpoint",
               str(tiny_checkpoint), "--out", str(tmp_path), "--json"])
    assert rc == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 20 and "in-sample" in m["note"]


@pytest.mark.parametrize("variant", ["no_rag", "naive_rag"])
def test_variants_run(tiny_checkpoint, variant):
    from affectagent.pipeline import PipelineConfig

    agent = AffectAgent.load(tiny_checkpoint, config=PipelineConfig.variant(variant), log=lambda m: None)
    [p] = agent.predict_texts(["Fine. Whatever."], explain=True)
    if variant == "no_rag":
        assert p.evidence == () and p.trace["candidates"] == []
    else:
        # naive RAG: one unconstrained query of 3·top_k items replaces the planner's groups
        assert len(p.trace["candidates"]) == 3 * agent.pipeline.config.top_k
        assert all(c["kind"] == "plain" for c in p.trace["candidates"])
        assert p.trace["planner"] is None and p.trace["queries"]["plain"] is True


def test_cli_evaluate_user_data_file(tiny_checkpoint, tmp_path, capsys):
    from affectagent.paths import data_root

    rows = (data_root() / "meld" / "dev_sent_emo.csv").read_text(encoding="utf-8").splitlines()[:26]
    f = tmp_path / "held_out.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rc = main(["evaluate", "--dataset", "meld", "--split", "test", "--data-file", str(f), "--checkpoint",
               str(tiny_checkpoint), "--out", str(tmp_path / "o"), "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["n"] == 25
    bad = tmp_path / "bad.csv"
    bad.write_text("Utterance,Speaker\nhello,Ross\n", encoding="utf-8")
    assert main(["evaluate", "--dataset", "meld", "--data-file", str(bad), "--checkpoint", str(tiny_checkpoint)]) == 2


def test_kb_is_built_on_first_use_when_absent(tiny_checkpoint, tmp_path, monkeypatch):
    import shutil

    lone = tmp_path / "ckpt" / "agents.pt"
    lone.parent.mkdir()
    shutil.copy(tiny_checkpoint, lone)
    shutil.copy(tiny_checkpoint.parent / "speech_emotion.npz", lone.parent)  # the checkpoint's speech branch
    monkeypatch.setenv("AFFECTAGENT_CACHE", str(tmp_path / "cache"))
    messages = []
    agent = AffectAgent.load(lone, log=messages.append)
    assert agent.kb_path.parent == tmp_path / "cache" / "kbs" and agent.kb_path.is_dir()
    assert any("first use" in m for m in messages)
    assert agent.pipeline.source.kb.info().entries == 300 + 40 + 30
    again = AffectAgent.load(lone, log=messages.append)  # second load reuses it
    assert again.kb_path == agent.kb_path and sum("first use" in m for m in messages) == 1


def test_speech_branch_of_the_checkpoint_reaches_the_answer(tiny_checkpoint):
    """The recipe fitted the speech-emotion branch on its EmoDB rows and saved it beside the checkpoint; loading
    the checkpoint runs that branch on a clip, and its posterior is in the trace and the rationale."""
    from affectagent import datasets

    agent = AffectAgent.load(tiny_checkpoint, log=lambda m: None)
    assert agent.checkpoint.encoders["speech_emotion"] == "speech_emotion.npz"
    assert agent.encoding.extract.speech_emotion == str(tiny_checkpoint.parent / "speech_emotion.npz")
    clip = next(s for s in datasets.load("emodb", "all") if s.label)
    [p] = agent.predict([clip], label_set=datasets.label_space("emodb").canonical, explain=True, transcribe=False)
    branch = p.trace["branches"]["audio"]
    assert sum(branch["probs"].values()) == pytest.approx(1.0, abs=1e-3)
    assert branch["gain"]["generator"] != 0.0
    assert "voice alone: " in p.rationale


def test_checkpoint_without_its_speech_branch_file_is_refused(tiny_checkpoint, tmp_path, capsys):
    import shutil

    copy = tmp_path / "agents.pt"
    shutil.copy(tiny_checkpoint, copy)
    shutil.copytree(tiny_checkpoint.parent / "kb", tmp_path / "kb")
    assert main(["predict", "--text", "hi", "--checkpoint", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "speech-emotion branch" in err and "missing" in err and "Traceback" not in err


def test_cli_evaluate_scores_only_the_given_speakers(tiny_checkpoint, tmp_path, capsys):
    from affectagent import datasets

    n08 = sum(1 for s in datasets.load("emodb", "all") if s.label and s.group == "08")
    rc = main(["evaluate", "--dataset", "emodb", "--split", "all", "--speakers", "08", "--checkpoint",
               str(tiny_checkpoint), "--out", str(tmp_path), "--json"])
    m = json.loads(capsys.readouterr().out)
    assert rc == 0 and m["n"] == n08 and "in-sample" in m["note"]  # the tiny checkpoint trained on all speakers
    assert main(["evaluate", "--dataset", "emodb", "--split", "all", "--speakers", "99", "--checkpoint",
                 str(tiny_checkpoint), "--out", str(tmp_path)]) == 2
    assert "no labelled samples of speaker(s) 99" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "emodb", "--split", "all", "--speakers", " , ", "--checkpoint",
                 str(tiny_checkpoint), "--out", str(tmp_path)]) == 2
    assert "--speakers names no speaker" in capsys.readouterr().err


def test_speaker_norm_is_checked_and_scored_as_its_own_protocol(tiny_checkpoint, tmp_path, capsys):
    from affectagent.errors import InputError

    agent = AffectAgent.load(tiny_checkpoint, log=lambda m: None)
    with pytest.raises(InputError, match="not trained on speaker-normalised features"):
        agent.with_speaker_norm(str(tiny_checkpoint.parent / "speech_emotion.npz"))
    assert agent.with_speaker_norm("speaker-norm").encoding.speaker_norm == "speaker-norm"
    assert agent.with_speaker_norm(None).encoding.speaker_norm is None
    rc = main(["evaluate", "--dataset", "emodb", "--split", "all", "--speakers", "08", "--speaker-norm",
               "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path), "--json"])
    m = json.loads(capsys.readouterr().out)
    assert rc == 0 and m["speaker_norm"] == "speaker-norm" and 0.0 <= m["uar"] <= 1.0
    from affectagent import datasets

    clips = [s for s in datasets.load("emodb", "all") if s.label and s.group == "08"][:6]
    preds = agent.with_speaker_norm("speaker-norm").predict(clips, label_set=datasets.label_space("emodb").canonical,
                                                            explain=True, transcribe=False)
    assert all(p.trace["speech"]["speaker_norm"] == "applied over 6 files of speaker '08'" for p in preds)
    assert all(sum(p.trace["branches"]["audio"]["probs"].values()) == pytest.approx(1.0, abs=1e-3) for p in preds)
