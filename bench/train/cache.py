"""What trials share within one run: loaded datasets, staged tensors, pretrained weights, features.

A ``TrialCache`` is owned by whoever runs a series of trials (the suite, the app's worker,
a test) and passed to each; there is no module-level state. Features are also cached on
disk, keyed by dataset fingerprint, backbone and resolution, so a learning curve or a
second run extracts them once.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.data.datasets import load_dataset
from bench.data.image_data import ImageData
from bench.data.text_catalog import is_text_dataset, load_text_dataset
from bench.data.text_data import TextData
from bench.device import prefers_channels_last, release_freed_host_memory
from bench.errors import BenchInputError
from bench.models.backbones import BackboneSpec, create_model, replace_head
from bench.paths import cache_dir
from bench.train.batches import eval_batch_size, forward_batch
from bench.train.callbacks import call_checking


@dataclass
class _FeatureStore:
    values: np.ndarray  # N x D
    done: np.ndarray  # N bools: which rows are computed


def _read_store(path: Path) -> _FeatureStore | None:
    try:
        with np.load(path) as archive:
            return _FeatureStore(archive["values"].copy(), archive["done"].copy())
    except (OSError, ValueError, KeyError):
        return None  # missing or truncated: recompute


def _dataset_keys(name: str, image_size: int, train_limit: int | None, text_columns: tuple) -> tuple[tuple, tuple]:
    """(the key a dataset is held under, the key of its whole copy): text by its columns, images by size and limit."""
    if is_text_dataset(name):
        key = (name, 0, None, *text_columns)
        return key, key
    return (name, image_size, train_limit), (name, image_size, None)


class TrialCache:
    def __init__(self, root: Path | None = None):
        self.root = root
        self._datasets: dict[tuple[str, int, int | None], ImageData] = {}
        self._dataset_errors: dict[tuple[str, int, int | None], BenchInputError] = {}
        # One staged tensor per (dataset, resolution, device), with the rows it holds (None: all of them).
        self._staged: dict[tuple[str, int, str], tuple[bytes | None, torch.Tensor]] = {}
        self._models: dict[str, nn.Module] = {}
        self._features: dict[str, _FeatureStore] = {}  # by file name under features/
        self._feature_inputs: dict[str, tuple[str, int]] = {}  # image features' file name -> (backbone, resolution)
        # What other kinds of data keep between trials (text: the encoder, token ids, embeddings).
        self.extra: dict[str, dict] = {}
        self.hits: dict[str, int] = {
            "dataset": 0,
            "staged": 0,
            "model": 0,
            "features": 0,  # probe trials whose features were all cached
            "images_encoded": 0,  # feature rows computed (each image at most once per backbone and resolution)
            "images_from_cache": 0,  # feature rows served from the cache
        }

    def dataset(
        self,
        name: str,
        image_size: int,
        train_limit: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        text_columns: tuple[str | None, str | None] = (None, None),
    ) -> ImageData | TextData:
        """The dataset, loaded once per (name, image size, train limit) and shared by every trial.

        ``train_limit`` is the most training examples any trial of the run uses (None: all);
        a big user folder is then decoded in part. A dataset already loaded whole serves any
        limit. A dataset that failed to load fails again at once with the same message, so an
        archive is not re-read for every trial. ``should_stop`` can cancel a load in progress
        (:class:`~bench.data.images.DecodeCancelled`).

        Text data (a built-in text name, a .csv/.tsv/.jsonl, a folder or .zip of .txt files) is
        loaded whole as :class:`~bench.data.text_data.TextData`; ``text_columns`` names its
        (text, label) columns (None: detected).
        """
        key, whole = _dataset_keys(name, image_size, train_limit, text_columns)
        if key in self._dataset_errors:
            raise self._dataset_errors[key]
        if key in self._datasets or whole in self._datasets:
            self.hits["dataset"] += 1
            return self._datasets.get(key) or self._datasets[whole]
        try:
            if is_text_dataset(name):
                data = load_text_dataset(name, *text_columns)
            else:
                data = load_dataset(name, image_size=image_size, train_limit=train_limit, should_stop=should_stop)
        except BenchInputError as error:
            self._dataset_errors[key] = error
            raise
        self._datasets[key] = data
        return data

    def seed_dataset(
        self, data: ImageData | TextData, name: str, image_size: int, train_limit: int | None = None,
        text_columns: tuple[str | None, str | None] = (None, None),
    ) -> None:  # fmt: skip
        """Hold ``data``, loaded elsewhere, as the dataset ``dataset(name, image_size, train_limit, text_columns=...)``
        returns.

        A Ray task seeds its cache with the copy the driver sent, so it never reads ``name`` (a folder
        or a CSV that may exist on the driver's machine only) again.
        """
        self._datasets[_dataset_keys(name, image_size, train_limit, text_columns)[0]] = data

    def seed_pretrained(self, spec: BackboneSpec, model: nn.Module) -> None:
        """Hold ``model`` (pretrained weights loaded elsewhere) as the one ``pretrained_model(spec, ...)`` copies."""
        self._models[spec.name] = model

    def staged(
        self,
        data: ImageData,
        resolution: int,
        device: torch.device,
        rows: np.ndarray | None = None,
        progress: Callable[[], None] = lambda: None,
    ) -> torch.Tensor:
        """The dataset's images as uint8 N x 3 x R x R on ``device`` (resized once, grayscale repeated).

        ``rows`` (sorted, unique dataset indices) stages only those images, in that order: a trial
        stages what it trains and evaluates on, not every image the dataset holds. One tensor is kept
        per dataset, resolution and device; asking for other rows replaces it, so what stays staged
        between trials is one trial's work per resolution. ``progress`` is called after every chunk;
        it may raise to cancel (nothing is kept then).
        """
        key = (data.fingerprint, resolution, str(device))
        wanted = None if rows is None else np.ascontiguousarray(rows, dtype=np.int64).tobytes()
        held = self._staged.get(key)
        if held is not None and held[0] == wanted:
            self.hits["staged"] += 1
            return held[1]
        self._staged.pop(key, None)  # freed before the new rows are allocated
        staged = stage_images(data.images, resolution, device, rows=rows, progress=progress)
        self._staged[key] = (wanted, staged)
        return staged

    def loaded_dataset(
        self, name: str, image_size: int, train_limit: int | None = None,
        text_columns: tuple[str | None, str | None] = (None, None),
    ) -> ImageData | TextData | None:  # fmt: skip
        """The dataset :meth:`dataset` would return if it is loaded already; None (nothing is read) if not."""
        key, whole = _dataset_keys(name, image_size, train_limit, text_columns)
        return self._datasets.get(key) or self._datasets.get(whole)

    def keep_only(self, inputs: set[tuple[str, int]]) -> None:
        """Release the staged images, image features and pretrained weights that no (backbone, resolution) in
        ``inputs`` uses: what the trials still to run need, given by the loop that runs them.

        Between an image run's arms, a probe's staged 64-px images, features and weights (50-70 MB) would
        otherwise sit under the scratch trial's own working memory. A released item costs a re-stage
        (a fraction of a second) or a read of the feature file if asked for again. Datasets, text
        encoders and embeddings stay.
        """
        backbones, resolutions = {backbone for backbone, _ in inputs}, {resolution for _, resolution in inputs}
        self._staged = {key: held for key, held in self._staged.items() if key[1] in resolutions}
        self._models = {name: model for name, model in self._models.items() if name in backbones}
        for name, used in list(self._feature_inputs.items()):
            if used not in inputs:
                self._features.pop(name, None)
                del self._feature_inputs[name]
        release_freed_host_memory()

    def load_pretrained(self, spec: BackboneSpec) -> None:
        """Load the pretrained weights once (what :meth:`pretrained_model` copies); a no-op when loaded."""
        if spec.name not in self._models:
            self._models[spec.name] = create_model(spec, None, pretrained=True)

    def pretrained_model(self, spec: BackboneSpec, num_classes: int) -> nn.Module:
        """A fresh copy of the pretrained model with a new head (seed the RNG first)."""
        if spec.name in self._models:
            self.hits["model"] += 1
        else:
            self.load_pretrained(spec)
        model = copy.deepcopy(self._models[spec.name])
        replace_head(model, spec.classifier, num_classes)
        return model

    def features(
        self,
        spec: BackboneSpec,
        data: ImageData,
        images: torch.Tensor,
        device: torch.device,
        needed: np.ndarray,
        progress: Callable[[], None] = lambda: None,
        random_init: bool = False,
        rows: np.ndarray | None = None,
        stop_if_asked: Callable[[], None] = lambda: None,
    ) -> tuple[np.ndarray, bool]:
        """Pooled features (N x D float32; rows outside ``needed`` may be unset) and whether all were cached.

        ``needed`` are dataset indices; ``images`` holds the dataset's ``rows`` (sorted dataset indices,
        as :meth:`staged` returns them; None: every image). Each image is encoded at most once per
        backbone and resolution: missing rows are computed a batch at a time and the store is written
        back to disk atomically. ``stop_if_asked`` is asked while the backbone loads (one call) and may
        raise to cancel; ``progress`` runs after every batch.
        """
        resolution = images.shape[-1]
        name = f"{spec.name}-random" if random_init else spec.name

        def encode(missing: np.ndarray) -> np.ndarray:
            positions = missing if rows is None else np.searchsorted(rows, missing)
            model = call_checking(lambda: self.feature_model(spec, random_init), stop_if_asked)
            return extract_features(model, images, spec, device, progress, positions)

        file_name = f"{data.fingerprint}-{name}-{resolution}"
        self._feature_inputs[f"{file_name}.npz"] = (spec.name, resolution)
        return self.stored_rows(file_name, len(data), needed, encode)

    def stored_rows(
        self, name: str, size: int, needed: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[np.ndarray, bool]:
        """Rows of a per-example float32 array (``size`` rows; rows outside ``needed`` may be unset), kept in
        memory and on disk as ``features/<name>.npz``, and whether all of ``needed`` were stored already.

        ``compute(missing)`` returns the missing rows (``len(missing) x D``), in that order; it may raise to
        cancel (nothing is stored then). The file is written back atomically. Image features and text
        embeddings both keep their rows here, so each example is encoded at most once per model and size.

        >>> import tempfile
        >>> cache = TrialCache(Path(tempfile.mkdtemp()))
        >>> cache.stored_rows("demo", 3, np.array([0, 2]), lambda rows: np.ones((len(rows), 2)))[1]
        False
        >>> cache.stored_rows("demo", 3, np.array([2]), lambda rows: np.zeros((len(rows), 2)))
        (array([[1., 1.],
               [0., 0.],
               [1., 1.]], dtype=float32), True)
        """
        path = (self.root or cache_dir()) / "features" / f"{name}.npz"
        store = self._features.get(path.name) or _read_store(path)
        missing = needed if store is None else needed[~store.done[needed]]
        self.hits["images_encoded"] += len(missing)
        self.hits["images_from_cache"] += len(needed) - len(missing)
        if store is not None and len(missing) == 0:
            self.hits["features"] += 1
            self._features[path.name] = store
            return store.values, True
        encoded = compute(missing)
        if store is None:
            store = _FeatureStore(np.zeros((size, encoded.shape[1]), np.float32), np.zeros(size, bool))
        store.values[missing] = encoded
        store.done[missing] = True
        self._features[path.name] = store
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(partial, values=store.values, done=store.done)
        os.replace(partial, path)  # atomic: a killed run never leaves half a file
        return store.values, False

    def feature_model(self, spec: BackboneSpec, random_init: bool = False) -> nn.Module:
        """The backbone without its classifier; ``random_init`` is the untrained baseline (fixed seed)."""
        if random_init:
            with torch.random.fork_rng():
                torch.manual_seed(0)
                model = create_model(spec, 2, pretrained=False)
        else:
            model = self.pretrained_model(spec, 2)
        parent_path, _, leaf = spec.classifier.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        if leaf.isdigit():
            parent[int(leaf)] = nn.Identity()
        else:
            setattr(parent, leaf, nn.Identity())
        return model.eval()


STAGING_CHUNK_BYTES = 64 << 20  # float32 working memory per staging chunk, whatever the dataset's size


def stage_images(
    images: np.ndarray,
    resolution: int,
    device: torch.device,
    chunk: int | None = None,
    rows: np.ndarray | None = None,
    progress: Callable[[], None] = lambda: None,
) -> torch.Tensor:
    """uint8 N x H x W x C (C = 1 or 3) -> uint8 N x 3 x R x R on ``device``, resized in chunks.

    ``progress`` is called after every chunk (it may raise to cancel).
    A chunk's float copies are bounded by :data:`STAGING_CHUNK_BYTES` (1,024 images at 128 px were
    600 MB of temporaries); images already at ``resolution`` are copied as bytes, with no float at all.
    ``rows`` stages only those images, in that order, read a chunk at a time (no copy of all of them).
    """
    count = len(images) if rows is None else len(rows)
    out = torch.empty((count, 3, resolution, resolution), dtype=torch.uint8, device=device)
    side = max(images.shape[1], images.shape[2], resolution) if images.ndim == 4 else resolution
    chunk = chunk or max(1, STAGING_CHUNK_BYTES // (3 * side * side * 4 * 3))  # ~3 float copies alive at once
    same_size = images.shape[1] == resolution and images.shape[2] == resolution
    for start in range(0, count, chunk):
        if start:
            progress()
        source = images[start : start + chunk] if rows is None else images[rows[start : start + chunk]]
        part = torch.as_tensor(source, device=device).permute(0, 3, 1, 2)
        if same_size:
            out[start : start + chunk] = part.expand(-1, 3, -1, -1) if part.shape[1] == 1 else part
            continue
        part = part.float()
        if part.shape[1] == 1:
            part = part.expand(-1, 3, -1, -1)
        downsampling = part.shape[-1] > resolution
        part = F.interpolate(part, size=(resolution, resolution), mode="bilinear", antialias=downsampling)
        out[start : start + chunk] = part.round().clamp(0, 255).to(torch.uint8)  # not in place: may be a view
    return out


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    images: torch.Tensor,
    spec: BackboneSpec,
    device: torch.device,
    progress: Callable[[], None],
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """Pooled features of ``images`` (only those at ``positions``, gathered a batch at a time, when given)."""
    model = model.to(device).eval()
    if prefers_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    outputs = []
    size = eval_batch_size(device)
    count = len(images) if positions is None else len(positions)
    for start in range(0, count, size):
        if positions is None:
            batch = images[start : start + size]
        else:
            batch = images[torch.as_tensor(positions[start : start + size], device=images.device)]
        outputs.append(forward_batch(model, batch, spec, device).float().cpu())
        progress()
    features = torch.cat(outputs).numpy().astype(np.float32)
    del outputs
    release_freed_host_memory()  # the batches' activations
    return features
