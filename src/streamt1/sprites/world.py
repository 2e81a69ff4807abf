"""The Sprites world: a procedural generator of captioned 64x64 videos that runs on any CPU.

A scene is a background plus a few coloured shapes, each following a deterministic trajectory,
plus timed events (the background changes, a sprite appears or disappears) so that long videos
have transitions. Everything is a frozen dataclass; :func:`render` draws a scene with
anti-aliased edges in pure, vectorised torch; :func:`sample_scene` draws a scene from a
``torch.Generator``. Some colour x shape pairs (:data:`HELD_OUT_PAIRS`) never occur in the
``"train"`` split and every ``"eval"`` scene contains one, so evaluation measures generalisation.

Coordinates are fractions of the frame width, origin top-left, y pointing down. Horizontal and
vertical positions wrap around (a sprite leaving on the left re-enters on the right), so a
"moves left" sprite keeps moving left however long the video is.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

import torch
from torch import Tensor

FPS = 16
FRAME_SIZE = 64
FADE_FRAMES = 8  # enter / leave / background changes cross-fade over half a second
# Where an event falls in its slot (the clip's 20-90 % span split in equal slots, one per event), as shares of
# the slot: uniformly in its middle 80 %. Captions do not time their events.
EVENT_BAND = (0.1, 0.9)

# Saturated sprite colours; backgrounds use a muted version (see ``muted``) so sprites stand out.
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.9, 0.1, 0.1),
    "orange": (1.0, 0.55, 0.0),
    "yellow": (0.95, 0.9, 0.1),
    "green": (0.1, 0.75, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "purple": (0.6, 0.15, 0.8),
    "white": (1.0, 1.0, 1.0),
    "black": (0.05, 0.05, 0.05),
}
SHAPES = ("circle", "square", "triangle", "diamond", "cross", "ring")
SIZES: dict[str, float] = {"small": 0.08, "medium": 0.11, "large": 0.15}  # radius / frame width
MOTIONS = ("left", "right", "up", "down", "diagonal", "bounce", "orbit", "grow", "shrink")
BACKGROUNDS = ("solid", "vertical gradient", "horizontal gradient", "stripes", "checkerboard")
SPLITS = ("train", "eval")
MAX_VISIBLE_SPRITES = 3

# One held-out shape per colour; every shape is held out at least once.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("red", "triangle"),
        ("orange", "ring"),
        ("yellow", "cross"),
        ("green", "circle"),
        ("blue", "diamond"),
        ("purple", "square"),
        ("white", "triangle"),
        ("black", "circle"),
    }
)

LINEAR_SPEED = 0.12  # frame widths per second at speed 1 (about 0.5 px per frame)
SPEED_RANGE = (0.05, 4.0)  # a sprite's speed, a multiple of its motion's base speed
BOUNCE_SPEED = 0.15
ORBIT_RADIUS = 0.18
ORBIT_SPEED = 0.12  # turns per second
GROWTH_RATE = 0.25  # 1/s: grow / shrink approach their final scale with this exponential rate
SCALE_RANGE = (0.5, 1.5)  # scale of growing / shrinking sprites (start, end for "grow")
SHAPE_EXTENT = 1.25  # every shape fits in this many radii around its centre
PATTERN_PERIOD = 0.25  # stripes and checkerboard period, in frame widths
EVAL_SEED = 20_250_101
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
    "diagonal": (math.sqrt(0.5), math.sqrt(0.5)),  # down and to the right
}


def _check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {list(allowed)}")


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name}={value} must be in [{lo}, {hi}]")


@dataclass(frozen=True)
class BackgroundSpec:
    """A static background: one colour, or two for gradients and patterns."""

    kind: str = "solid"
    color: str = "black"
    color2: str | None = None  # second colour (gradient end, pattern's other colour); None for solid

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, BACKGROUNDS)
        _check_choice("color", self.color, list(COLORS))
        if self.kind == "solid":
            if self.color2 is not None:
                raise ValueError(f"color2={self.color2!r} must be None for a solid background")
        else:
            _check_choice("color2", self.color2, [c for c in COLORS if c != self.color])

    @property
    def colors(self) -> tuple[str, ...]:
        return (self.color,) if self.color2 is None else (self.color, self.color2)


@dataclass(frozen=True)
class SpriteSpec:
    """One sprite: what a caption says (shape, colour, size, motion) plus its placement."""

    shape: str
    color: str
    size: str = "medium"
    motion: str = "right"
    x: float = 0.5  # start centre (orbit: centre of the orbit), fraction of frame width
    y: float = 0.5
    speed: float = 1.0  # multiplier of the motion's base speed
    phase: float = 0.0  # in turns: start angle of an orbit, heading of a bounce

    def __post_init__(self) -> None:
        _check_choice("shape", self.shape, SHAPES)
        _check_choice("color", self.color, list(COLORS))
        _check_choice("size", self.size, list(SIZES))
        _check_choice("motion", self.motion, MOTIONS)
        _check_range("x", self.x, 0.0, 1.0)
        _check_range("y", self.y, 0.0, 1.0)
        _check_range("speed", self.speed, *SPEED_RANGE)
        _check_range("phase", self.phase, 0.0, 1.0)

    @property
    def attributes(self) -> tuple[str, str, str, str]:
        """What a caption can express: (shape, color, size, motion)."""
        return (self.shape, self.color, self.size, self.motion)


class EventKind(enum.Enum):
    BACKGROUND = "background"  # the background cross-fades to ``Event.background``
    ENTER = "enter"  # ``Event.sprite`` fades in and starts its motion
    LEAVE = "leave"  # sprite ``Event.target`` (index into ``SceneSpec.all_sprites``) fades out


@dataclass(frozen=True)
class Event:
    frame: int
    kind: EventKind
    background: BackgroundSpec | None = None
    sprite: SpriteSpec | None = None
    target: int | None = None

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise ValueError(f"frame={self.frame} must be >= 0")
        needed = {
            EventKind.BACKGROUND: ("background", self.background),
            EventKind.ENTER: ("sprite", self.sprite),
            EventKind.LEAVE: ("target", self.target),
        }[self.kind]
        fields = (("background", self.background), ("sprite", self.sprite), ("target", self.target))
        given = [name for name, value in fields if value is not None]
        if given != [needed[0]]:
            raise ValueError(f"a {self.kind.value} event needs exactly field {needed[0]!r}, got {given}")


@dataclass(frozen=True)
class SceneSpec:
    background: BackgroundSpec
    sprites: tuple[SpriteSpec, ...]
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.sprites) <= MAX_VISIBLE_SPRITES:
            raise ValueError(f"sprites has {len(self.sprites)} entries; must be 1..{MAX_VISIBLE_SPRITES}")
        frames = [e.frame for e in self.events]
        if frames != sorted(frames):
            raise ValueError(f"events must be sorted by frame, got frames {frames}")
        self.sprite_windows()  # validates leave targets and the visible-sprite limit

    @property
    def all_sprites(self) -> tuple[SpriteSpec, ...]:
        """Initial sprites followed by entering sprites in event order (``Event.target`` indexes this)."""
        entered = tuple(e.sprite for e in self.events if e.kind is EventKind.ENTER)
        return self.sprites + entered  # type: ignore[operator]

    def sprite_windows(self) -> list[tuple[int, int | None]]:
        """(enter frame, leave frame or None) of every sprite of :attr:`all_sprites`."""
        windows: list[tuple[int, int | None]] = [(0, None)] * len(self.sprites)
        for e in self.events:
            if e.kind is EventKind.ENTER:
                windows.append((e.frame, None))
            elif e.kind is EventKind.LEAVE:
                if e.target is None or not 0 <= e.target < len(windows) or windows[e.target][1] is not None:
                    raise ValueError(f"leave event at frame {e.frame}: target={e.target} is not a visible sprite")
                windows[e.target] = (windows[e.target][0], e.frame)
            visible = sum(1 for _, end in windows if end is None)
            if visible > MAX_VISIBLE_SPRITES:
                raise ValueError(
                    f"event at frame {e.frame} makes {visible} sprites visible; max {MAX_VISIBLE_SPRITES}"
                )
        return windows

    def map_sprites(self, change: Callable[[SpriteSpec], SpriteSpec]) -> SceneSpec:
        """This scene with ``change`` applied to every sprite, those that enter with an event too."""
        events = tuple(replace(e, sprite=change(e.sprite)) if e.sprite is not None else e for e in self.events)
        return replace(self, sprites=tuple(change(s) for s in self.sprites), events=events)

    def background_changes(self) -> list[tuple[int, BackgroundSpec]]:
        """(frame, background) from the first frame on, one entry per change."""
        changes = [(0, self.background)]
        changes += [(e.frame, e.background) for e in self.events if e.kind is EventKind.BACKGROUND]
        return changes  # type: ignore[return-value]


def with_straight_speed(scene: SceneSpec, factor: float) -> SceneSpec:
    """``scene`` with the sprites that move in a straight line (entering ones too) at ``factor`` times their
    speed, clamped to the world's speeds (:data:`SPEED_RANGE`)."""
    def sped(sprite: SpriteSpec) -> SpriteSpec:
        if sprite.motion not in DIRECTIONS:
            return sprite
        return replace(sprite, speed=min(max(sprite.speed * factor, SPEED_RANGE[0]), SPEED_RANGE[1]))
    return scene.map_sprites(sped)


# --------------------------------------------------------------------------- rendering


def color_tensor(name: str, muted: bool = False) -> Tensor:
    """RGB ``[3]`` of a named colour; ``muted`` is the background version (pulled towards grey)."""
    rgb = torch.tensor(COLORS[name])
    return 0.25 + 0.5 * rgb if muted else rgb


def _grid(size: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates ``[H, W]`` as fractions of the frame width."""
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    return c[None, :].expand(size, size), c[:, None].expand(size, size)


def render_background(spec: BackgroundSpec, size: int = FRAME_SIZE) -> Tensor:
    """One background image ``[3, H, W]``."""
    gx, gy = _grid(size)
    a = color_tensor(spec.color, muted=True)[:, None, None]
    if spec.kind == "solid":
        return a.expand(3, size, size).clone()
    b = color_tensor(spec.color2, muted=True)[:, None, None]  # type: ignore[arg-type]
    wave_x, wave_y = (torch.sin(2 * math.pi * u / PATTERN_PERIOD) for u in (gx, gy))
    edge = size * PATTERN_PERIOD / (2 * math.pi)  # makes pattern edges about one pixel wide
    mix = {
        "vertical gradient": gy,
        "horizontal gradient": gx,
        "stripes": (0.5 + edge * wave_x).clamp(0, 1),
        "checkerboard": (0.5 + edge * wave_x * wave_y).clamp(0, 1),
    }[spec.kind]
    return a + (b - a) * mix[None]


def _ramp(t: Tensor, start: int) -> Tensor:
    """0 before ``start``, rising linearly to 1 over :data:`FADE_FRAMES` frames."""
    return ((t - start + 1) / FADE_FRAMES).clamp(0, 1)


def roll_steps(scene: SceneSpec, size: int = FRAME_SIZE) -> tuple[int, int]:
    """(rows, columns): the step of the pixel offsets ``scene``'s frames can be rolled by (``Tensor.roll``)
    and still show the scene. Sprites wrap around, and so do stripes and checkerboards, every
    :data:`PATTERN_PERIOD`; a gradient does not (0: no roll along it)."""
    period = round(PATTERN_PERIOD * size)
    rows = columns = 1
    for _, background in scene.background_changes():
        if background.kind == "vertical gradient":
            rows = 0
        elif background.kind == "horizontal gradient":
            columns = 0
        elif background.kind == "stripes":  # vary along the columns only
            columns = columns and period
        elif background.kind == "checkerboard":
            rows, columns = rows and period, columns and period
    return rows, columns


def render_backgrounds(scene: SceneSpec, t: Tensor, size: int = FRAME_SIZE) -> Tensor:
    """Backgrounds of frames ``t`` ``[T]``, cross-fading at every change -> ``[T, 3, H, W]``."""
    changes = scene.background_changes()
    out = render_background(changes[0][1], size)[None].expand(len(t), -1, -1, -1)
    for frame, spec in changes[1:]:
        w = _ramp(t, frame)[:, None, None, None]
        out = out + (render_background(spec, size)[None] - out) * w
    return out


def _reflect(u: Tensor, lo: float, hi: float) -> Tensor:
    """Bounce ``u`` between ``lo`` and ``hi`` (triangle wave)."""
    span = hi - lo
    m = torch.remainder(u - lo, 2 * span)
    return lo + span - (m - span).abs()


def sprite_track(sprite: SpriteSpec, seconds: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Centre x, centre y and scale of a sprite at times ``seconds`` ``[T]`` (each ``[T]``)."""
    s, r = sprite.speed, SIZES[sprite.size] * SHAPE_EXTENT
    x = torch.full_like(seconds, sprite.x)
    y = torch.full_like(seconds, sprite.y)
    scale = torch.ones_like(seconds)
    if sprite.motion in DIRECTIONS:
        dx, dy = DIRECTIONS[sprite.motion]
        x = x + dx * LINEAR_SPEED * s * seconds
        y = y + dy * LINEAR_SPEED * s * seconds
    elif sprite.motion == "bounce":
        heading = 2 * math.pi * sprite.phase
        x = _reflect(x + math.cos(heading) * BOUNCE_SPEED * s * seconds, r, 1 - r)
        y = _reflect(y + math.sin(heading) * BOUNCE_SPEED * s * seconds, r, 1 - r)
    elif sprite.motion == "orbit":
        angle = 2 * math.pi * (sprite.phase - ORBIT_SPEED * s * seconds)  # counter-clockwise on screen
        x = x + ORBIT_RADIUS * torch.cos(angle)
        y = y + ORBIT_RADIUS * torch.sin(angle)
    else:
        lo, hi = SCALE_RANGE if sprite.motion == "grow" else SCALE_RANGE[::-1]
        scale = lo + (hi - lo) * (1 - torch.exp(-GROWTH_RATE * s * seconds))
    return torch.remainder(x, 1.0), torch.remainder(y, 1.0), scale


def shape_sdf(shape: str, u: Tensor, v: Tensor) -> Tensor:
    """Signed distance (negative inside) of a unit-radius shape at offsets ``u, v`` (radius units)."""
    au, av = u.abs(), v.abs()
    if shape == "circle":
        return torch.sqrt(u * u + v * v) - 1.0
    if shape == "square":
        return torch.maximum(au, av) - 0.85
    if shape == "diamond":
        return (au + av - 1.15) * math.sqrt(0.5)
    if shape == "triangle":  # pointing up; y grows downwards
        h = math.sqrt(3) / 2
        return torch.maximum(v, torch.maximum(-h * u - 0.5 * v, h * u - 0.5 * v)) - 0.6
    if shape == "cross":
        arm = 0.33
        return torch.minimum(torch.maximum(au - 1.0, av - arm), torch.maximum(au - arm, av - 1.0))
    if shape == "ring":
        return (torch.sqrt(u * u + v * v) - 0.75).abs() - 0.25
    raise ValueError(f"shape={shape!r} is not one of {list(SHAPES)}")


def sprite_coverage(
    shape: str, cx: Tensor, cy: Tensor, radius: Tensor, size: int = FRAME_SIZE
) -> Tensor:
    """Anti-aliased coverage ``[T, H, W]`` in [0, 1] of a shape with centres/radii ``[T]``.

    Offsets wrap around the frame (periodic), matching the wrap-around trajectories.
    """
    gx, gy = _grid(size)
    du = torch.remainder(gx[None] - cx[:, None, None] + 0.5, 1.0) - 0.5  # [T, H, W]
    dv = torch.remainder(gy[None] - cy[:, None, None] + 0.5, 1.0) - 0.5
    r = radius[:, None, None]
    dist_px = shape_sdf(shape, du / r, dv / r) * r * size  # distance in pixels
    return (0.5 - dist_px).clamp(0, 1)


def sprite_visibility(window: tuple[int, int | None], t: Tensor) -> Tensor:
    """Opacity ``[T]`` of a sprite that enters at ``window[0]`` and leaves at ``window[1]``."""
    start, end = window
    vis = _ramp(t, start) if start > 0 else torch.ones_like(t)
    if end is not None:
        vis = vis * (1 - _ramp(t, end))
    return vis


def sprite_placements(scene: SceneSpec, t: Tensor) -> Iterator[tuple[SpriteSpec, Tensor, Tensor, Tensor, Tensor]]:
    """For every sprite of the scene, in drawing order: (sprite, centre x, centre y, radius, opacity),
    each ``[T]``, at frame times ``t [T]``."""
    t = t.float()
    for sprite, window in zip(scene.all_sprites, scene.sprite_windows()):
        cx, cy, scale = sprite_track(sprite, (t - window[0]).clamp(min=0) / FPS)
        yield sprite, cx, cy, scale * SIZES[sprite.size], sprite_visibility(window, t)


def render_at(scene: SceneSpec, t: Tensor, size: int = FRAME_SIZE,
              centres: Sequence[tuple[Tensor, Tensor] | None] | None = None) -> Tensor:
    """Frames at (possibly fractional, unordered) frame times ``t [T]`` -> ``[T, 3, H, W]`` in [0, 1].

    ``centres``: per sprite of ``scene.all_sprites``, centres ``(x [T], y [T])`` that replace its
    trajectory's (None: its own), e.g. where a model drew it."""
    frames = render_backgrounds(scene, t.float(), size)
    placed = centres or [None] * len(scene.all_sprites)
    if len(placed) != len(scene.all_sprites):
        raise ValueError(f"centres must hold one entry per sprite ({len(scene.all_sprites)}), got {len(placed)}")
    for (sprite, cx, cy, radius, opacity), centre in zip(sprite_placements(scene, t), placed):
        if centre is not None:
            cx, cy = centre
        alpha = (sprite_coverage(sprite.shape, cx, cy, radius, size) * opacity[:, None, None])[:, None]  # [T, 1, H, W]
        frames = frames + (color_tensor(sprite.color)[None, :, None, None] - frames) * alpha
    return frames.clamp(0, 1)


def shape_contrast(scene: SceneSpec, t: Tensor, size: int = FRAME_SIZE) -> Tensor:
    """Where a sprite's coverage at times ``t [T]`` depends on its shape -> ``[T, H, W]`` in [0, 1]: per
    pixel, the largest change of a visible sprite's coverage if it had another shape (same centre,
    scale and size). The ring's hole and the cross's open quadrants make that nearly the whole sprite
    plus the rim other shapes would fill (about 1.1x its area); the rest of the frame is 0."""
    contrast = torch.zeros(len(t), size, size)
    for sprite, cx, cy, radius, opacity in sprite_placements(scene, t):
        own = sprite_coverage(sprite.shape, cx, cy, radius, size)
        change = torch.stack([(sprite_coverage(other, cx, cy, radius, size) - own).abs()
                              for other in SHAPES if other != sprite.shape]).amax(0)
        contrast = torch.maximum(contrast, change * opacity[:, None, None])
    return contrast


def render(scene: SceneSpec, num_frames: int, *, start_frame: int = 0, size: int = FRAME_SIZE) -> Tensor:
    """Frames ``start_frame .. start_frame + num_frames - 1`` of a scene -> ``[T, 3, H, W]`` in [0, 1]."""
    if num_frames < 1:
        raise ValueError(f"num_frames={num_frames} must be >= 1")
    if start_frame < 0:
        raise ValueError(f"start_frame={start_frame} must be >= 0")
    return render_at(scene, torch.arange(start_frame, start_frame + num_frames), size)


# --------------------------------------------------------------------------- sampling


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def _randint(g: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (1,), generator=g))


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def start_margin(motion: str, size: str) -> float:
    """How far from the edges a sprite must start so that non-wrapping motions stay in frame."""
    r = SIZES[size] * SHAPE_EXTENT
    if motion == "orbit":
        return ORBIT_RADIUS + r
    if motion in ("grow", "shrink"):
        return r * SCALE_RANGE[1]
    return r


def _sample_sprite(g: torch.Generator, color: str, shape: str | None, split: str) -> SpriteSpec:
    if shape is None:
        allowed = [s for s in SHAPES if split == "eval" or (color, s) not in HELD_OUT_PAIRS]
        shape = allowed[_randint(g, len(allowed))]
    size = list(SIZES)[_randint(g, len(SIZES))]
    motion = MOTIONS[_randint(g, len(MOTIONS))]
    m = start_margin(motion, size)
    # bounce headings stay away from the axes so that bouncing looks unlike left/right/up/down
    phase = (_randint(g, 4) + _uniform(g, 0.08, 0.17)) / 4 if motion == "bounce" else _uniform(g, 0.0, 1.0)
    return SpriteSpec(shape, color, size, motion, _uniform(g, m, 1 - m), _uniform(g, m, 1 - m),
                      _uniform(g, 0.75, 1.5), phase)


def _sample_background(g: torch.Generator, colors: list[str]) -> BackgroundSpec:
    kind = BACKGROUNDS[_randint(g, len(BACKGROUNDS))]
    perm = torch.randperm(len(colors), generator=g).tolist()
    return BackgroundSpec(kind, colors[perm[0]], None if kind == "solid" else colors[perm[1]])


def check_event_band(band: tuple[float, float]) -> None:
    if len(band) != 2 or not 0.0 <= band[0] <= band[1] <= 1.0:
        raise ValueError(f"event_band={tuple(band)} must be (low, high) with 0 <= low <= high <= 1: shares of an "
                         f"event's slot (default {EVENT_BAND})")


def _event_frames(g: torch.Generator, count: int, num_frames: int, band: tuple[float, float]) -> list[int]:
    """One frame in each of ``count`` equal slots of the clip's 20%..90% span, uniformly in the slot's ``band``
    (shares of the slot, EVENT_BAND by default)."""
    lo, hi = 0.2 * num_frames, 0.9 * num_frames
    slot = (hi - lo) / max(count, 1)
    return [int(lo + slot * (i + _uniform(g, *band))) for i in range(count)]


def sample_scene(
    seed: int | torch.Generator,
    split: str = "train",
    *,
    num_frames: int = 10 * FPS,
    max_sprites: int = MAX_VISIBLE_SPRITES,
    max_events: int = 2,
    event_band: tuple[float, float] = EVENT_BAND,
) -> SceneSpec:
    """Draw a scene. ``"eval"`` scenes always contain a held-out colour x shape pair, ``"train"`` ones never.
    ``event_band``: where in its slot each event falls (:data:`EVENT_BAND`)."""
    _check_choice("split", split, SPLITS)
    _check_range("max_sprites", max_sprites, 1, MAX_VISIBLE_SPRITES)
    check_event_band(event_band)
    if max_events < 0 or num_frames < 1:
        raise ValueError(f"max_events={max_events} must be >= 0 and num_frames={num_frames} >= 1")
    g = _generator(seed)
    names = list(COLORS)
    colors = [names[i] for i in torch.randperm(len(names), generator=g).tolist()]
    first_shape = None
    if split == "eval":
        held = sorted(HELD_OUT_PAIRS)
        color, first_shape = held[_randint(g, len(held))]
        colors.remove(color)
        colors.insert(0, color)
    num_sprites = 1 + _randint(g, max_sprites)
    sprites = [_sample_sprite(g, colors[0], first_shape, split)]
    sprites += [_sample_sprite(g, c, None, split) for c in colors[1:num_sprites]]
    spare = colors[num_sprites:]  # colours never used by a sprite, for backgrounds and entering sprites
    background = _sample_background(g, spare)
    count = _randint(g, max_events + 1)
    events = _sample_events(g, sprites, spare, background, split, count, num_frames, max_sprites, event_band)
    return SceneSpec(background, tuple(sprites), tuple(events))


def _sample_events(
    g: torch.Generator,
    sprites: list[SpriteSpec],
    spare: list[str],
    background: BackgroundSpec,
    split: str,
    count: int,
    num_frames: int,
    max_sprites: int,
    event_band: tuple[float, float],
) -> list[Event]:
    events: list[Event] = []
    visible = list(range(len(sprites)))
    total = len(sprites)
    shown = set(background.colors)  # background colours so far: entering sprites avoid them all
    for frame in _event_frames(g, count, num_frames, event_band):
        kinds = [EventKind.BACKGROUND]
        entering_colors = [c for c in spare if c not in shown]
        if len(visible) < max_sprites and entering_colors:
            kinds.append(EventKind.ENTER)
        if len(visible) > 1:
            kinds.append(EventKind.LEAVE)
        kind = kinds[_randint(g, len(kinds))]
        if kind is EventKind.BACKGROUND:
            new = _sample_background(g, spare)
            while new == background:
                new = _sample_background(g, spare)
            background = new
            shown.update(new.colors)
            events.append(Event(frame, kind, background=background))
        elif kind is EventKind.ENTER:
            color = entering_colors[_randint(g, len(entering_colors))]
            spare = [c for c in spare if c != color]
            events.append(Event(frame, kind, sprite=_sample_sprite(g, color, None, split)))
            visible.append(total)
            total += 1
        else:
            target = visible.pop(_randint(g, len(visible)))
            events.append(Event(frame, kind, target=target))
    return events


def is_eval_scene(scene: SceneSpec) -> bool:
    """True when a scene shows at least one held-out colour x shape pair."""
    return any((s.color, s.shape) in HELD_OUT_PAIRS for s in scene.all_sprites)


def eval_scenes(count: int = 32, *, num_frames: int = 10 * FPS) -> list[SceneSpec]:
    """The fixed evaluation scenes: ``count`` eval-split scenes from :data:`EVAL_SEED`."""
    return [sample_scene(EVAL_SEED + i, "eval", num_frames=num_frames) for i in range(count)]
