"""Captions of Sprites scenes, with varied wording, and the parser that reads them back.

:func:`caption` renders a scene's caption-level content (sprite shape / colour / size / motion,
the background, the events in order) as English; with a ``torch.Generator`` it picks among
several wordings and sentence orders. :func:`parse_caption` reads any such caption (and many
hand-written variants) back into a :class:`~streamt1.sprites.world.SceneSpec` with a canonical
layout. It is keyword based: every word must be in :data:`VOCABULARY`, sprites are
``[size] colour shape`` phrases, each motion word belongs to the nearest sprite before it,
colours outside sprite phrases describe the background, and ``then`` / ``later`` start an event.
Anything it cannot express raises a ``ValueError`` that lists the vocabulary.
"""

from __future__ import annotations

import re
import string
from typing import Sequence

import torch

from streamt1.outputs.progress import shorten
from streamt1.sprites.world import (
    BACKGROUNDS,
    COLORS,
    FPS,
    MAX_VISIBLE_SPRITES,
    MOTIONS,
    SHAPES,
    BackgroundSpec,
    Event,
    EventKind,
    SceneSpec,
    SpriteSpec,
    start_margin,
)
from streamt1.suggest import did_you_mean

MOTION_PHRASES: dict[str, tuple[str, ...]] = {
    "left": ("moves left", "slides to the left", "drifts left", "travels to the left"),
    "right": ("moves right", "slides to the right", "drifts right", "travels to the right"),
    "up": ("moves up", "rises", "floats upward", "drifts up"),
    "down": ("moves down", "falls", "sinks", "drifts down"),
    "diagonal": ("moves diagonally", "drifts diagonally", "slides diagonally"),
    "bounce": ("bounces around", "bounces off the walls", "bounces off the edges"),
    "orbit": ("circles around", "orbits", "moves in circles"),
    "grow": ("grows", "gets bigger", "expands"),
    "shrink": ("shrinks", "gets smaller", "contracts"),
}
BACKGROUND_PHRASES: dict[str, tuple[str, ...]] = {
    "solid": ("a {c} background", "a plain {c} background", "a solid {c} backdrop"),
    "vertical gradient": ("a vertical gradient from {c} to {c2}", "a {c} to {c2} vertical gradient"),
    "horizontal gradient": ("a horizontal gradient from {c} to {c2}", "a {c} to {c2} horizontal gradient"),
    "stripes": ("{c} and {c2} stripes", "a striped {c} and {c2} background"),
    "checkerboard": ("a {c} and {c2} checkerboard", "a checkered {c} and {c2} background"),
}
PREPOSITIONS = ("over", "on", "against", "in front of")
JOINERS = ("and", "while")
THEN = ("then", "and then", "later")
BACKGROUND_CHANGE = ("the background turns {b}", "the background changes to {b}", "the background becomes {b}")
ENTER_PHRASES = ("{s} appears and {m}", "{s} enters and {m}", "{s} joins and {m}")
LEAVE_PHRASES = ("the {c} {sh} disappears", "the {c} {sh} leaves", "the {c} {sh} fades away")

# Keyword tables of the parser (word -> meaning).
MOTION_WORDS: dict[str, str] = {
    **dict.fromkeys(("left", "leftward", "leftwards"), "left"),
    **dict.fromkeys(("right", "rightward", "rightwards"), "right"),
    **dict.fromkeys(("up", "upward", "upwards", "rises", "rising"), "up"),
    **dict.fromkeys(("down", "downward", "downwards", "falls", "falling", "sinks", "sinking"), "down"),
    **dict.fromkeys(("diagonally", "diagonal"), "diagonal"),
    **dict.fromkeys(("bounces", "bouncing", "bounce"), "bounce"),
    **dict.fromkeys(("circles", "circling", "orbits", "orbiting", "orbit"), "orbit"),
    **dict.fromkeys(("grows", "growing", "expands", "expanding", "bigger"), "grow"),
    **dict.fromkeys(("shrinks", "shrinking", "contracts", "contracting", "smaller"), "shrink"),
}
SIZE_WORDS = {"small": "small", "tiny": "small", "medium": "medium", "large": "large", "big": "large"}
SHAPE_WORDS = {**{s: s for s in SHAPES}, "plus": "cross"}
KIND_WORDS = {
    "gradient": "gradient",
    "stripes": "stripes",
    "striped": "stripes",
    "checkerboard": "checkerboard",
    "checkered": "checkerboard",
}
ENTER_WORDS = frozenset({"appears", "enters", "joins", "arrives"})
LEAVE_WORDS = frozenset({"disappears", "leaves", "vanishes", "fades", "exits"})
EVENT_WORDS = frozenset({"then", "later", "afterwards"})
FILLER_WORDS = frozenset(
    "a an the one and while as with over on against in front of to from into around off walls edges "
    "background backdrop plain solid vertical horizontal moves moving slides sliding drifts drifting "
    "travels travelling floats floating gets getting turns changes becomes away".split()
)
VOCABULARY: frozenset[str] = frozenset(
    set(COLORS) | set(SIZE_WORDS) | set(SHAPE_WORDS) | set(MOTION_WORDS) | set(KIND_WORDS)
    | ENTER_WORDS | LEAVE_WORDS | EVENT_WORDS | FILLER_WORDS
)


def _pick(options: Sequence[str], generator: torch.Generator | None) -> str:
    if generator is None:
        return options[0]
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def background_phrase(bg: BackgroundSpec, generator: torch.Generator | None = None) -> str:
    return _pick(BACKGROUND_PHRASES[bg.kind], generator).format(c=bg.color, c2=bg.color2)


def sprite_phrase(sprite: SpriteSpec, generator: torch.Generator | None = None) -> str:
    """``"a small red circle moves left"``."""
    motion = _pick(MOTION_PHRASES[sprite.motion], generator)
    return f"a {sprite.size} {sprite.color} {sprite.shape} {motion}"


def event_phrase(event: Event, scene: SceneSpec, generator: torch.Generator | None = None) -> str:
    if event.kind is EventKind.BACKGROUND:
        bg = event.background
        b = bg.color if bg.kind == "solid" else background_phrase(bg, generator)  # type: ignore[union-attr]
        return _pick(BACKGROUND_CHANGE, generator).format(b=b)
    if event.kind is EventKind.ENTER:
        s = event.sprite
        what = f"a {s.size} {s.color} {s.shape}"  # type: ignore[union-attr]
        m = _pick(MOTION_PHRASES[s.motion], generator)  # type: ignore[union-attr]
        return _pick(ENTER_PHRASES, generator).format(s=what, m=m)
    target = scene.all_sprites[event.target]  # type: ignore[index]
    return _pick(LEAVE_PHRASES, generator).format(c=target.color, sh=target.shape)


def caption(scene: SceneSpec, generator: torch.Generator | None = None) -> str:
    """The caption of a scene; canonical wording without ``generator``, varied wording with one."""
    sprites = [sprite_phrase(s, generator) for s in scene.sprites]
    subject = sprites[0]
    for clause in sprites[1:]:
        subject += f" {_pick(JOINERS, generator)} {clause}"
    setting = f"{_pick(PREPOSITIONS, generator)} {background_phrase(scene.background, generator)}"
    setting_first = generator is not None and bool(torch.randint(2, (1,), generator=generator))
    text = f"{setting}, {subject}" if setting_first else f"{subject} {setting}"
    for event in scene.events:
        text += f", {_pick(THEN, generator)} {event_phrase(event, scene, generator)}"
    text = re.sub(r"\ba (?=[aeiou])", "an ", text)
    return text[0].upper() + text[1:]


# --------------------------------------------------------------------------- parsing


def _motion_names() -> list[str]:
    """One word per motion that a caption may use: the motion's own name, else its shortest form."""
    forms = {m: sorted((w for w, motion in MOTION_WORDS.items() if motion == m), key=len) for m in MOTIONS}
    return [m if m in forms[m] else forms[m][0] for m in MOTIONS]


def vocabulary_help() -> str:
    """The vocabulary, grouped, for error messages: one word per motion (its other forms are understood
    too) and a few connecting words, so the line stays readable."""
    return (
        f"colours {sorted(COLORS)}; shapes {sorted(SHAPE_WORDS)}; sizes {sorted(SIZE_WORDS)}; "
        f"motions {_motion_names()} and their other forms ('bouncing', 'leftwards', ...); "
        f"backgrounds {list(BACKGROUNDS)}; "
        f"events 'then ...' with {sorted(ENTER_WORDS)} / {sorted(LEAVE_WORDS)} / 'the background turns <colour>'; "
        f"connecting words such as 'a', 'the', 'moves', 'over', 'against', 'while'. Example: 'a small red circle "
        f"moves left over a blue background, then the background turns green'"
    )


_SEPARATORS = re.compile(r"[\s" + re.escape(string.punctuation) + r"]+")


def normalize(text: str) -> list[str]:
    """Lower-case words split at white space and ASCII punctuation (hyphens too). Any other character stays
    in its word, so a word the world does not know (an accent, a digit, an emoji) is named, not dropped."""
    return [word for word in _SEPARATORS.split(text.lower()) if word]


def check_words(words: Sequence[str], text: str) -> None:
    unknown = sorted({w for w in words if w not in VOCABULARY})
    if unknown:
        listed = f"{unknown[:8]}" + (f" and {len(unknown) - 8} more words" if len(unknown) > 8 else "")
        raise ValueError(f"the Sprites world cannot express {listed} in {shorten(text, 80)!r}"
                         f"{did_you_mean(unknown[0], VOCABULARY)}; it understands: {vocabulary_help()}")
    if not words:
        raise ValueError(f"empty caption {shorten(text, 80)!r}; it understands: {vocabulary_help()}")


def _segments(words: list[str]) -> list[list[str]]:
    """Split at event words: the scene first, then one word list per event."""
    out: list[list[str]] = [[]]
    for w in words:
        if w in EVENT_WORDS:
            out.append([])
        else:
            out[-1].append(w)
    return out


def _sprite_mentions(words: list[str]) -> list[tuple[int, int, str | None, str, str]]:
    """``(start, end, size, colour, shape)`` for every ``[size] colour shape`` phrase."""
    found = []
    for i in range(len(words) - 1):
        if words[i] in COLORS and words[i + 1] in SHAPE_WORDS:
            has_size = i > 0 and words[i - 1] in SIZE_WORDS
            size = SIZE_WORDS[words[i - 1]] if has_size else None
            found.append((i - has_size, i + 2, size, words[i], SHAPE_WORDS[words[i + 1]]))
    return found


def _motions(words: list[str], mentions: list, text: str) -> list[str]:
    """The one motion word after each sprite mention (before the next one)."""
    motions = []
    for k, (_, end, _, color, shape) in enumerate(mentions):
        stop = mentions[k + 1][0] if k + 1 < len(mentions) else len(words)
        found = {MOTION_WORDS[w] for w in words[end:stop] if w in MOTION_WORDS}
        if len(found) != 1:
            what = "no motion" if not found else f"several motions {sorted(found)}"
            raise ValueError(
                f"the {color} {shape} in {text!r} has {what}; give exactly one of {list(MOTIONS)} "
                f"(words: {sorted(MOTION_WORDS)})"
            )
        motions.append(found.pop())
    return motions


def _background(words: list[str], mentions: list, text: str) -> BackgroundSpec | None:
    """The background described by colours outside sprite phrases, or None if none is named."""
    inside = {i for start, end, *_ in mentions for i in range(start, end)}
    colors = [w for i, w in enumerate(words) if w in COLORS and i not in inside]
    kinds = {KIND_WORDS[w] for w in words if w in KIND_WORDS}
    if not colors:
        return None
    if len(kinds) > 1:
        raise ValueError(f"{text!r} names several background kinds {sorted(kinds)}; use one")
    kind = kinds.pop() if kinds else "solid"
    if kind == "gradient":
        kind = "horizontal gradient" if "horizontal" in words else "vertical gradient"
    want = 1 if kind == "solid" else 2
    if len(colors) != want:
        raise ValueError(
            f"a {kind} background needs {want} colour(s), {text!r} gives {colors} "
            f"(sprites are written '[size] colour shape', e.g. 'a small red circle')"
        )
    return BackgroundSpec(kind, colors[0], colors[1] if want == 2 else None)


def _default_background(sprites: Sequence[SpriteSpec]) -> BackgroundSpec:
    """Black, or white when a sprite is black: used when a caption names no background."""
    return BackgroundSpec("solid", "white" if any(s.color == "black" for s in sprites) else "black")


def _place(attrs: tuple[str, str, str, str], lane: float, index: int, count: int) -> SpriteSpec:
    """A canonical layout: sprite ``index`` of ``count`` on lane ``lane``, centred otherwise."""
    shape, color, size, motion = attrs
    m = start_margin(motion, size)
    x, y = {"left": (0.5, lane), "right": (0.5, lane), "up": (lane, 0.5), "down": (lane, 0.5)}.get(
        motion, (lane, 1 - lane)
    )
    x, y = (min(max(u, m), 1 - m) for u in (x, y))
    phase = 0.125 if motion == "bounce" else (index / count) % 1.0
    return SpriteSpec(shape, color, size, motion, x, y, 1.0, phase)


def _find_target(
    mention: tuple, sprites: Sequence[SpriteSpec], visible: list[int], text: str
) -> int:
    _, _, size, color, shape = mention
    for i in visible:
        s = sprites[i]
        if (s.color, s.shape) == (color, shape) and size in (None, s.size):
            return i
    raise ValueError(f"{text!r}: the {color} {shape} cannot leave, it is not in the scene at that point")


def _single_mention(words: list[str], text: str, what: str) -> tuple:
    mentions = _sprite_mentions(words)
    if len(mentions) != 1:
        raise ValueError(
            f"the event '{' '.join(words)}' in {text!r} must name exactly one sprite that {what} "
            f"('[size] colour shape'), found {len(mentions)}"
        )
    return mentions[0]


def parse_caption(text: str, num_frames: int = 10 * FPS) -> SceneSpec:
    """Read a caption into a scene with a canonical layout; events are spread evenly over ``num_frames``.

    Raises ``ValueError`` naming the problem and listing the vocabulary for captions the world
    cannot express.
    """
    words = normalize(text)
    check_words(words, text)
    first, *rest = _segments(words)
    mentions = _sprite_mentions(first)
    if not 1 <= len(mentions) <= MAX_VISIBLE_SPRITES:
        raise ValueError(
            f"{text!r} must start with 1 to {MAX_VISIBLE_SPRITES} sprites written '[size] colour shape "
            f"motion', found {len(mentions)}; it understands: {vocabulary_help()}"
        )
    attrs = [(sh, c, sz or "medium", m) for (_, _, sz, c, sh), m in zip(mentions, _motions(first, mentions, text))]
    sprites = [_place(a, (i + 1) / (len(attrs) + 1), i, len(attrs)) for i, a in enumerate(attrs)]
    background = _background(first, mentions, text) or _default_background(sprites)
    events: list[Event] = []
    everyone, visible = list(sprites), list(range(len(sprites)))
    for k, seg in enumerate(rest):
        frame = round(num_frames * (k + 1) / (len(rest) + 1))
        if LEAVE_WORDS.intersection(seg):
            target = _find_target(_single_mention(seg, text, "leaves"), everyone, visible, text)
            visible.remove(target)
            events.append(Event(frame, EventKind.LEAVE, target=target))
        elif ENTER_WORDS.intersection(seg):
            mention = _single_mention(seg, text, "appears")
            (motion,) = _motions(seg, [mention], text)
            sprite = _place((mention[4], mention[3], mention[2] or "medium", motion), 0.5, len(everyone), 1)
            visible.append(len(everyone))
            everyone.append(sprite)
            events.append(Event(frame, EventKind.ENTER, sprite=sprite))
        elif "background" in seg or "backdrop" in seg:
            new = _background(seg, [], text)
            if new is None:
                raise ValueError(f"the background change '{' '.join(seg)}' in {text!r} names no colour")
            events.append(Event(frame, EventKind.BACKGROUND, background=new))
        else:
            raise ValueError(
                f"cannot understand the event '{' '.join(seg)}' in {text!r}: an event is a sprite that "
                f"{sorted(ENTER_WORDS)} or {sorted(LEAVE_WORDS)}, or 'the background turns <colour>'"
            )
    return SceneSpec(background, tuple(sprites), tuple(events))


def same_content(a: SceneSpec, b: SceneSpec) -> bool:
    """True when two scenes have the same captions-level content (ignoring layout and event frames)."""
    def content(s: SceneSpec) -> tuple:
        events = tuple(
            (e.kind, e.background, e.sprite.attributes if e.sprite else None, e.target) for e in s.events
        )
        return (s.background, tuple(x.attributes for x in s.sprites), events)

    return content(a) == content(b)
