"""Do the rewards rank a search's own candidates the way the ground truth does?

The search's decision at every chunk is "which of these K*M candidates is better". This module
reruns a search on eval prompts and, at every scored chunk, scores each candidate's reward window
(the clip the video reward saw: the candidate after its history's last chunks) with the analytic
ground truth (mean of text alignment and subject consistency, :mod:`streamt1.metrics.sprites`).
The agreement is the share of candidate pairs of the same chunk, whose ground truth differs by more
than ``min_gap``, that the fused reward orders the same way (0.5 = chance).

Other rewards (``judges``) can score the very same candidates beside the search's own: each search
makes its own candidates, so comparing rewards by rerunning the search compares them on different
pairs; on the same pairs the difference of two agreements has a paired interval (over chunks).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, Mapping

import torch
from torch import Tensor

from streamt1.interfaces import ImageReward, VideoReward
from streamt1.metrics.sprites import evaluate_video
from streamt1.search.beam import StreamSearch
from streamt1.search.pool import CandidatePool, ChunkContext, Scores
from streamt1.search.steps import reward_windows


def truth_metrics(clip: Tensor, prompt: str, fps: float) -> dict[str, float]:
    """All analytic Sprites metrics (and the ``alignment_*`` parts) of a uint8 clip ``[T, 3, H, W]``."""
    return evaluate_video(clip.float() / 255, prompt, fps=fps)


def fused_truth(metrics: dict[str, float]) -> float:
    """The ground truth the fused reward should order by: mean of text alignment and subject consistency."""
    return (metrics["text_alignment"] + metrics["subject_consistency"]) / 2


def ground_truth(clip: Tensor, prompt: str, fps: float) -> float:
    """:func:`fused_truth` of a uint8 clip ``[T, 3, H, W]``."""
    return fused_truth(truth_metrics(clip, prompt, fps))


def pairwise_agreement(groups: list[tuple[list[float], list[float]]], min_gap: float = 0.02,
                       parents: list[list[int]] | None = None, same_parent: bool | None = None,
                       keep: Callable[[int, int, int], bool] | None = None) -> tuple[float, int]:
    """Share of pairs (within each group of (reward, truth) lists) ordered alike, and the pair count.

    Pairs whose truths differ by at most ``min_gap`` are skipped (no order to agree with); a reward
    tie counts as half an agreement. With ``parents`` (each group's candidates' histories),
    ``same_parent`` True keeps only pairs of one history's siblings (they differ in the new chunk
    alone), False only pairs from two histories (they also differ in the histories the search kept).
    ``keep(k, i, j)``, where given, must also hold for pair ``i < j`` of group ``k`` to count.
    """
    if same_parent is not None and (parents is None or len(parents) != len(groups)):
        raise ValueError("same_parent needs parents: one list of candidate histories per group")
    agree, pairs = 0.0, 0
    for k, (rewards, truths) in enumerate(groups):
        for i, j in itertools.combinations(range(len(truths)), 2):
            gap = truths[i] - truths[j]
            if abs(gap) <= min_gap:
                continue
            if same_parent is not None and (parents[k][i] == parents[k][j]) != same_parent:
                continue
            if keep is not None and not keep(k, i, j):
                continue
            pairs += 1
            step = rewards[i] - rewards[j]
            agree += 0.5 if step == 0 else float((step > 0) == (gap > 0))
    return (agree / pairs if pairs else float("nan")), pairs


class RecordingSearch(StreamSearch):
    """A :class:`StreamSearch` whose score step also calls :meth:`record` on every scored chunk with
    siblings; by default it keeps, per chunk, the rewards (``"fused"``, ``"image"`` = short,
    ``"video"`` = long) each with the ground truths of the candidates' reward windows in ``groups``.

    ``truth_window_chunks``: judge every candidate on its last that many chunks instead of the reward's
    window, so searches with other windows (``search.long_window_chunks``) answer to the same truth;
    like the reward's window, it never reaches back across a prompt switch.

    ``judges``: name -> (image reward, video reward) that also score every recorded chunk's candidates
    with the search's score step (kept as ``"<name>:fused"`` etc.); the search still prunes by its own."""

    def __init__(self, *args, truth_window_chunks: int | None = None,
                 judges: Mapping[str, tuple[ImageReward, VideoReward]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if truth_window_chunks is not None and truth_window_chunks < 1:
            raise ValueError(f"truth_window_chunks={truth_window_chunks} is invalid: expected an integer >= 1 "
                             "(or None for the reward's window)")
        self.groups: list = []
        self.truth_window_chunks = truth_window_chunks
        self.judges = dict(judges or {})
        self._scene_first_chunk = 0  # the current prompt's first chunk (the score step sees every chunk)
        score = self.score_step

        def score_and_record(search: StreamSearch, ctx: ChunkContext, pool: CandidatePool) -> Scores:
            if ctx.index == 0 or ctx.scene_start:
                self._scene_first_chunk = ctx.index
            scores = score(search, ctx, pool)
            if len(pool) > 1:
                judged = {name: score(SimpleNamespace(config=search.config, generator=search.generator,
                                                      image_reward=image, video_reward=video), ctx, pool)
                          for name, (image, video) in self.judges.items()}
                self.record(ctx, pool, scores, judged)
            return scores

        self.score_step = score_and_record

    def record(self, ctx: ChunkContext, pool: CandidatePool, scores: Scores,
               judged: Mapping[str, Scores] | None = None) -> None:
        fps = self.generator.spec.fps
        if self.truth_window_chunks is not None:
            ctx = dataclasses.replace(ctx, window=min(self.truth_window_chunks - 1,
                                                      ctx.index - self._scene_first_chunk))
        truths = [ground_truth(clip, ctx.prompt, fps) for clip in reward_windows(ctx, pool)]
        group = {}
        for prefix, sc in (("", scores), *((f"{name}:", sc) for name, sc in (judged or {}).items())):
            group.update({prefix + name: (values.tolist(), truths) for name, values in
                          (("fused", sc.fused), ("image", sc.short), ("video", sc.long))})
        group["parents"] = pool.parents.tolist()
        self.groups.append(group)


@dataclass(frozen=True)
class Agreement:
    agreement: float  # of the fused score, the one the search prunes by
    pairs: int
    chunks: int
    image: float  # of the image reward alone (the short score)
    video: float  # of the video reward alone (the long score)
    same_parent: float  # of the fused score on pairs of one history's siblings
    same_parent_pairs: int
    cross_parent: float  # ... on pairs from two histories (both kept by the search's reward)


def _agreement(groups: list[dict], min_gap: float, prefix: str = "") -> Agreement:
    fused = [g[prefix + "fused"] for g in groups]
    value, pairs = pairwise_agreement(fused, min_gap)
    image, video = (pairwise_agreement([g[prefix + name] for g in groups], min_gap)[0] for name in ("image", "video"))
    parents = [g["parents"] for g in groups]
    same, same_pairs = pairwise_agreement(fused, min_gap, parents, same_parent=True)
    cross = pairwise_agreement(fused, min_gap, parents, same_parent=False)[0]
    return Agreement(value, pairs, len(groups), image, video, same, same_pairs, cross)


def _pair_counts(groups: list[dict], key: str, min_gap: float) -> list[tuple[float, int]]:
    """Per group: (agreeing pairs, pairs) of ``key``'s scores, as :func:`pairwise_agreement` counts them."""
    counts = []
    for group in groups:
        share, pairs = pairwise_agreement([group[key]], min_gap)
        counts.append((share * pairs if pairs else 0.0, pairs))
    return counts


def paired_difference(groups: list[dict], key: str, baseline: str, min_gap: float = 0.02,
                      resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Agreement of ``key`` minus that of ``baseline`` on the same pairs, with a 95 % percentile
    bootstrap interval over chunks (the groups): ``(difference, low, high)``."""
    a, b = _pair_counts(groups, key, min_gap), _pair_counts(groups, baseline, min_gap)

    def difference(index: list[int]) -> float:
        pairs = sum(a[i][1] for i in index)
        return (sum(a[i][0] for i in index) - sum(b[i][0] for i in index)) / pairs if pairs else float("nan")

    rng = random.Random(seed)
    n = len(groups)
    draws = sorted(difference([rng.randrange(n) for _ in range(n)]) for _ in range(resamples))
    return difference(list(range(n))), draws[int(0.025 * resamples)], draws[int(0.975 * resamples) - 1]


@dataclass(frozen=True)
class JudgedAgreement:
    """A judge's agreement on the search's own candidates, and its difference to the search's rewards."""

    agreement: Agreement
    difference: tuple[float, float, float]  # fused agreement minus the search's own, 95 % interval


def sibling_agreement(search: StreamSearch, prompts: list[str], seeds: list[int], num_frames: int,
                      min_gap: float = 0.02, truth_window_chunks: int | None = None,
                      judges: Mapping[str, tuple[ImageReward, VideoReward]] | None = None,
                      ) -> tuple[Agreement, dict[str, JudgedAgreement]]:
    """Run ``search``'s method on every prompt and seed; agreement of its fused reward with the truth
    (on each candidate's reward window, or its last ``truth_window_chunks`` chunks), and of every
    judge's on the same candidates with its paired difference (see :class:`RecordingSearch`)."""
    recorder = RecordingSearch(search.generator, search.config, search.image_reward, search.video_reward,
                               method=search.method, truth_window_chunks=truth_window_chunks, judges=judges)
    with torch.no_grad():
        for prompt in prompts:
            for seed in seeds:
                recorder.run(prompt, num_frames, seed, progress=False)
    groups = recorder.groups
    judged = {name: JudgedAgreement(_agreement(groups, min_gap, f"{name}:"),
                                    paired_difference(groups, f"{name}:fused", "fused", min_gap))
              for name in recorder.judges}
    return _agreement(groups, min_gap), judged
