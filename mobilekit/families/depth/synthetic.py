"""Synthetic depth scenes made on the fly, with exact metric depth by construction. No download.

A pinhole camera (focal `f` pixels, principal column `cx`) at height `h` metres looks horizontally,
so the horizon is the image row `horizon`. Layers are drawn back to front through a z-buffer (the
nearer surface wins at every pixel):

* background: sky at MAX_DEPTH (sometimes with far hills), or a possibly slanted facade at 8-18 m;
* a textured ground plane: row y > horizon sees it at z = f * h / (y - horizon), clipped to
  [MIN_DEPTH, MAX_DEPTH]; its pattern lives in world metres, so it shrinks (and fades, anti-aliased)
  with distance;
* 1-4 objects (boxes, cylinders, boulders, bushes) standing on the ground: the lowest image row of
  each is where the ground has the object's contact depth; its surface varies by a few % (a slant,
  a cylinder or ellipsoid bulge) around it;
* in about 85 % of scenes a head-and-shoulders figure at 0.8-2.5 m, nearest of all; its visible
  pixels are the portrait mask.

Then smooth lighting, vignetting, aerial haze and sensor noise on the image, and in about 20 % of
scenes a small sensor-dropout hole (valid False, depth 0). Rows and columns are pixel indices (a
row's centre is at y = row). Vectorised NumPy, objects computed inside their bounding boxes only.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np

from mobilekit.core.errors import InputError
from mobilekit.families.depth.samples import DepthSample

MIN_DEPTH, MAX_DEPTH = 0.5, 20.0
FIGURE_PROBABILITY = 0.85
HOLE_PROBABILITY = 0.2
LAYER_BACKGROUND, LAYER_GROUND, LAYER_FIGURE, LAYER_OBJECT = 0, 1, 2, 3  # object i is LAYER_OBJECT + i
OBJECT_KINDS = ("box", "cylinder", "boulder", "bush")
_SKIES = (((70, 120, 200), (190, 212, 235)), ((165, 170, 182), (214, 214, 218)), ((70, 75, 135), (240, 175, 125)))
_GROUNDS = ((72, 112, 48), (88, 88, 94), (192, 172, 132), (140, 96, 62), (200, 194, 182), (112, 86, 62), (150, 142, 130))


@dataclass(frozen=True)
class SceneObject:
    kind: str
    contact_depth: float  # metres: the ground depth at the object's lowest image row
    bbox: tuple[int, int, int, int]  # (top, bottom, left, right) pixel bounds, ends exclusive


@dataclass
class SceneParams:
    """Camera and layout of one synthetic scene; `layers` (H, W) int8 says which layer each pixel
    shows (LAYER_BACKGROUND, LAYER_GROUND, LAYER_FIGURE, or LAYER_OBJECT + index into `objects`)."""

    focal: float  # pixels
    cx: float  # principal column
    horizon: float  # row of the horizon (the camera looks horizontally)
    camera_height: float  # metres above the ground
    background: str = "sky"  # "sky" | "hills" | "wall"
    background_depth: float = MAX_DEPTH  # sky: MAX_DEPTH; hills: their depth; wall: depth at the principal column
    objects: list[SceneObject] = field(default_factory=list)
    figure_depth: float | None = None
    layers: np.ndarray | None = None

    def ground_depth(self, rows) -> np.ndarray:
        """Depth (metres) of the ground plane seen in image `rows`: inf at and above the horizon."""
        rows = np.asarray(rows, dtype=np.float64)
        below = rows > self.horizon
        z = self.focal * self.camera_height / np.where(below, rows - self.horizon, 1.0)
        return np.where(below, np.clip(z, MIN_DEPTH, MAX_DEPTH), np.inf)


class _Canvas:
    """Channel-first float image (3, H, W), z-buffer and layer map."""

    def __init__(self, height: int, width: int) -> None:
        self.image = np.zeros((3, height, width), np.float32)
        self.z = np.full((height, width), np.inf, np.float32)
        self.layer = np.zeros((height, width), np.int8)

    def paint(self, r0: int, c0: int, mask: np.ndarray, z, colour, layer: int) -> None:
        """Z-tested write in the window whose top-left pixel is (r0, c0) and shape is `mask`'s;
        `z` broadcasts to the window, `colour` to (3, h, w)."""
        h, w = mask.shape
        zb = self.z[r0 : r0 + h, c0 : c0 + w]
        hit = mask & (z < zb)
        np.copyto(zb, z, where=hit, casting="same_kind")
        np.copyto(self.image[:, r0 : r0 + h, c0 : c0 + w], colour, where=hit, casting="same_kind")
        np.copyto(self.layer[r0 : r0 + h, c0 : c0 + w], np.int8(layer), where=hit)


def _fade(footprint, period: float):
    """Contrast kept by a pattern of `period` metres seen `footprint` metres per pixel (anti-aliasing)."""
    return np.exp(-8.0 * (np.asarray(footprint, np.float32) / np.float32(period)) ** 2)


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _rgb(values) -> np.ndarray:
    return np.asarray(values, np.float32).reshape(3, 1, 1)


def _hsv(rng: np.random.Generator, hue, sat, val) -> np.ndarray:
    h, s, v = rng.uniform(*hue) % 1.0, rng.uniform(*sat), rng.uniform(*val)
    return _rgb(colorsys.hsv_to_rgb(h, s, v)) * np.float32(255.0)


def _jitter(rng: np.random.Generator, rgb, amount: float = 18.0) -> np.ndarray:
    return _rgb(np.asarray(rgb, np.float32) + rng.uniform(-amount, amount, 3))


def _sky(rng, cv: _Canvas, p: SceneParams, noise) -> np.ndarray:
    width = cv.z.shape[1]
    rows = min(int(np.floor(p.horizon)) + 1, cv.z.shape[0])
    top, low = (_jitter(rng, c) for c in _SKIES[int(rng.integers(len(_SKIES)))])
    yy = np.arange(rows, dtype=np.float32)[:, None]
    xx = np.arange(width, dtype=np.float32)[None, :] * np.float32(128 / width)
    t = np.clip((p.horizon - yy) / np.float32(p.horizon + 1.0), 0, 1) ** 0.6
    a, b = rng.uniform(0.01, 0.04, 2)
    clouds = np.sin(a * xx + rng.uniform(0, 6.3)) * np.sin(2.5 * b * yy * np.float32(128 / width) + rng.uniform(0, 6.3))
    cover = np.float32(rng.uniform(0.0, 0.8)) * np.clip(clouds - 0.2, 0, 1)
    colour = (low + (top - low) * t) * (1 - cover) + 235.0 * cover + 2.0 * noise[:rows]
    cv.paint(0, 0, np.ones((rows, width), bool), np.float32(MAX_DEPTH), colour, LAYER_BACKGROUND)
    return low


def _facade(rng, cv: _Canvas, p: SceneParams, xn, noise) -> None:
    """A vertical plane (slanted about the vertical axis) with a window grid, panels or blocks."""
    height, width = cv.z.shape
    d0 = rng.uniform(8.0, 18.0)
    slant = rng.uniform(-1, 1) * min(0.6, 1.9 * (1 - d0 / MAX_DEPTH))
    zw = (d0 / (1 - slant * xn)).astype(np.float32)[None, :]  # (1, W): depth per column (a plane)
    y_top = p.horizon + p.focal * (p.camera_height - rng.uniform(3.0, 30.0)) / zw
    y_bot = p.horizon + p.focal * p.camera_height / zw
    r0, r1 = max(0, int(np.floor(y_top.min()))), min(height, int(np.ceil(y_bot.max())) + 1)
    if r1 <= r0:
        return
    rr = np.arange(r0, r1, dtype=np.float32)[:, None]
    big_x = zw * xn[None, :] + np.float32(rng.uniform(0, 10))  # lateral metres
    big_y = np.float32(p.camera_height) - (rr - np.float32(p.horizon)) * zw / np.float32(p.focal)  # height, metres
    base = _hsv(rng, (0.0, 0.15), (0.05, 0.45), (0.45, 0.9))
    kind = int(rng.integers(3))
    if kind == 0:  # a window grid
        px, py = rng.uniform(1.5, 3.5), rng.uniform(2.8, 3.6)
        wx, wy = rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.6)
        fy = _frac(big_y / np.float32(py))
        win = (np.abs(_frac(big_x / np.float32(px)) - 0.5) < wx / 2) & (np.abs(fy - 0.55) < wy / 2) & (big_y > 0.8)
        glass = _hsv(rng, (0.5, 0.65), (0.1, 0.4), (0.15, 0.45))
        colour = np.where(win, glass + 25 * np.clip(fy - 0.4, 0, 1), base)
    else:  # vertical panels, or staggered blocks
        period = rng.uniform(0.4, 2.0) if kind == 1 else rng.uniform(0.3, 0.8)
        wave = np.tanh(4 * np.sin(np.float32(2 * np.pi / period) * big_x)) * _fade(zw / np.float32(p.focal), period / 2)
        if kind == 2:
            wave = wave * np.sign(np.sin(np.float32(2 * np.pi / period) * big_y) + 1e-3)
        colour = base * (1 + 0.12 * wave)
    p.background, p.background_depth = "wall", d0
    cv.paint(r0, 0, rr >= y_top, zw, colour + 4.0 * noise[r0:r1], LAYER_BACKGROUND)


def _hills(rng, cv: _Canvas, p: SceneParams, xn, noise) -> None:
    height = cv.z.shape[0]
    zh = rng.uniform(12.0, 19.0)
    x = xn * zh
    top = rng.uniform(0.6, 3.5) * (1 + 0.5 * np.sin(2 * np.pi * x / rng.uniform(15, 60) + rng.uniform(0, 6.3))
                                   + 0.25 * np.sin(2 * np.pi * x / rng.uniform(3, 10) + rng.uniform(0, 6.3)))
    y_top = (p.horizon + p.focal * (p.camera_height - top) / zh).astype(np.float32)[None, :]
    y_bot = p.horizon + p.focal * p.camera_height / zh
    r0, r1 = max(0, int(np.floor(y_top.min()))), min(height, int(np.ceil(y_bot)) + 1)
    if r1 <= r0:
        return
    rr = np.arange(r0, r1, dtype=np.float32)[:, None]
    colour = _hsv(rng, (0.2, 0.45), (0.2, 0.5), (0.3, 0.6)) * (1 + 0.06 * noise[r0:r1])
    p.background, p.background_depth = "hills", zh
    cv.paint(r0, 0, rr >= y_top, np.float32(zh), colour, LAYER_BACKGROUND)


def _ground(rng, cv: _Canvas, p: SceneParams, xn, noise) -> None:
    """The plane y = -h: checker, boards, tiles or a fine grating, in world metres."""
    height, width = cv.z.shape
    r0 = int(np.floor(p.horizon)) + 1
    if r0 >= height:
        return
    z = p.ground_depth(np.arange(r0, height))
    zc = z.astype(np.float32)[:, None]
    foot = np.maximum(z / p.focal, z * z / (p.focal * p.camera_height)).astype(np.float32)[:, None]
    period, (ox, oz) = rng.uniform(0.3, 1.2), rng.uniform(0, 5, 2)
    big_x, big_z = (zc * xn[None, :] + np.float32(ox)) / np.float32(period), (zc + np.float32(oz)) / np.float32(period)
    kind = int(rng.integers(4))
    if kind == 0:  # checker
        wave = np.tanh(4 * np.sin(np.float32(np.pi) * big_x) * np.sin(np.float32(np.pi) * big_z))
    elif kind == 1:  # boards along the view direction
        wave = np.tanh(3 * np.sin(np.float32(2 * np.pi) * big_x))
    elif kind == 2:  # tiles with grout lines
        grout = np.maximum(np.abs(_frac(big_x) - 0.5), np.abs(_frac(big_z) - 0.5)) > 0.45
        wave = 1.0 - 2.0 * grout.astype(np.float32)
    else:  # grass / gravel: fine gratings
        period *= 0.3
        wave = 0.6 * np.sin(np.float32(2 * np.pi / 0.3) * big_x) * np.sin(np.float32(2 * np.pi / 0.51) * big_z)
    wave = wave * _fade(foot, period)
    base = _jitter(rng, _GROUNDS[int(rng.integers(len(_GROUNDS)))], 15.0)
    colour = base * (1 + np.float32(rng.uniform(0.12, 0.3)) * wave + 0.05 * noise[r0:])
    cv.paint(r0, 0, np.ones(wave.shape, bool), zc, colour, LAYER_GROUND)


def _object(rng, cv: _Canvas, p: SceneParams, zc: float, layer: int, noise, light: float) -> SceneObject | None:
    """One object standing on the ground, its nearest base point at depth `zc`."""
    height, width = cv.z.shape
    f, hc, hz = p.focal, p.camera_height, p.horizon
    kind = OBJECT_KINDS[int(rng.integers(len(OBJECT_KINDS)))]
    wo = rng.uniform(*{"box": (0.5, 2.5), "cylinder": (0.3, 1.0), "boulder": (0.5, 2.2), "bush": (0.6, 2.0)}[kind])
    ho = {"box": rng.uniform(0.4, 2.0), "cylinder": rng.uniform(0.8, 3.0), "boulder": wo * rng.uniform(0.3, 0.6),
          "bush": wo * rng.uniform(0.5, 1.0)}[kind]
    u0, s = rng.uniform(0.05, 0.95) * width, f / zc  # centre column, pixels per metre
    hw, yb = wo / 2 * s, hz + f * hc / zc
    bulge_depth = min(wo / 2, 0.08 * zc)  # cylinder / dome: edges this much deeper than the front
    top_face = kind in ("box", "cylinder") and ho < hc - 0.1 and (kind == "cylinder" or rng.random() < 0.7)
    dbox = rng.uniform(0.4, 1.2) * wo if kind == "box" else 2 * bulge_depth  # extent in depth of the top face
    y_hi = hz + f * (hc - ho) / (zc + (dbox if top_face else 0.0))
    r0, r1 = max(0, int(np.floor(y_hi))), min(height, int(np.ceil(yb)) + 1)
    c0, c1 = max(0, int(np.floor(u0 - hw))), min(width, int(np.ceil(u0 + hw)) + 1)
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None
    rr = np.arange(r0, r1, dtype=np.float32)[:, None]
    cols = np.arange(c0, c1, dtype=np.float32)[None, :]
    uu = (cols - np.float32(u0)) / np.float32(hw)
    front = np.sqrt(np.clip(1 - uu * uu, 0, 1))
    if kind == "box":  # a planar face: inverse depth affine in the column
        slant = 0.0 if top_face else rng.uniform(0, 0.05)
        z = zc / (1 - slant * (1 + np.sign(rng.uniform(-1, 1)) * uu) / 2)
        shade = np.full((1, c1 - c0), 0.75 + 0.2 * light, np.float32)
        mask = (np.abs(uu) <= 1) & (rr >= hz + f * (hc - ho) / z) & (rr <= hz + f * hc / z)
    elif kind == "cylinder":
        z = zc + bulge_depth * (1 - front)
        shade = 0.45 + 0.55 * np.clip(uu * light + front * np.sqrt(1 - light * light), 0, 1)
        mask = (np.abs(uu) <= 1) & (rr >= hz + f * (hc - ho) / z) & (rr <= hz + f * hc / z)
    else:  # a dome (half ellipsoid) on the ground; bushes get a ragged outline
        vv = (rr - np.float32(yb)) / np.float32(ho * s)
        rho2 = uu * uu + vv * vv
        if kind == "bush":
            ang = np.arctan2(vv, uu)
            edge = 1 + sum(rng.uniform(-0.08, 0.08) * np.cos(k * ang + rng.uniform(0, 6.3)) for k in (3, 5, 7))
            rho2 = rho2 / (edge * edge)
        bulge = np.sqrt(np.clip(1 - rho2, 0, 1))
        z = zc + bulge_depth * (1 - bulge)
        mask = (rho2 <= 1) & (rr <= hz + f * hc / (zc + bulge_depth * (1 - front)))
        shade = 0.4 + 0.6 * np.clip(uu * light - 0.5 * vv + bulge * 0.7, 0, 1)
    hue = {"box": (0, 1), "cylinder": (0, 1), "boulder": (0.05, 0.12), "bush": (0.2, 0.4)}[kind]
    base = _hsv(rng, hue, (0.05, 0.3) if kind == "boulder" else (0.3, 0.85), (0.35, 0.9))
    period, ang = rng.uniform(0.08, 0.5), rng.uniform(0, np.pi)
    a, b = (cols - np.float32(u0)) / np.float32(s), (np.float32(yb) - rr) / np.float32(s)  # metres on the object
    wave = np.sin(np.float32(2 * np.pi * np.cos(ang) / period) * a + np.float32(2 * np.pi * np.sin(ang) / period) * b)
    grain = (0.25 if kind == "bush" else 0.06) * noise[r0:r1, c0:c1]
    colour = base * (shade * (1 + np.float32(0.15 * _fade(1 / s, period)) * wave + grain))
    cv.paint(r0, c0, mask, z, colour, layer)
    if top_face:  # the plane y = ho - h, seen from above: a rectangle (box) or an ellipse (cylinder)
        zt = f * (hc - ho) / np.maximum(rr - hz, 1e-3)
        big_x = (cols - np.float32(p.cx)) * zt / np.float32(f)
        du, dv = (big_x - (u0 - p.cx) / s) / (wo / 2), (zt - zc - dbox / 2) / (dbox / 2)
        tmask = (rr > hz) & ((np.abs(du) <= 1) & (np.abs(dv) <= 1) if kind == "box" else du * du + dv * dv <= 1)
        cv.paint(r0, c0, tmask, zt, base * (1.12 + 0.05 * noise[r0:r1, c0:c1]), layer)
    return SceneObject(kind, float(zc), (r0, r1, c0, c1))


def _figure(rng, cv: _Canvas, p: SceneParams, zf: float, noise, light: float) -> None:
    """Head (ellipsoid, hair, eyes), neck and rounded-trapezoid shoulders reaching the bottom edge."""
    height, width = cv.z.shape
    s = p.focal / zf
    ry, rx = 0.115 * s * rng.uniform(0.92, 1.08), 0.085 * s * rng.uniform(0.92, 1.08)
    uc = p.cx + rng.uniform(-0.18, 0.18) * width
    vc = rng.uniform(min(max(0.15 * height, 0.9 * ry), 0.45 * height), 0.5 * height)
    skin = _jitter(rng, np.array((85, 55, 40)) + rng.uniform(0, 1) * np.array((150, 140, 130)), 10)
    hair = _hsv(rng, (0.03, 0.11), (0.2, 0.7), (0.05, 0.6))
    cloth = _hsv(rng, (0, 1), (0.1, 0.8), (0.15, 0.85))
    sw, slope, rc = rng.uniform(0.18, 0.23) * s, rng.uniform(0.03, 0.18), 0.08 * s
    ys = vc + ry + 0.05 * s  # shoulder line
    stripe_period, stripe_amp = rng.uniform(0.03, 0.12) * s, rng.uniform(0, 0.2) * float(_fade(1 / s, 0.05))
    r0 = max(0, int(np.floor(vc + 0.6 * ry)))
    half = sw + slope * (height - ys)
    c0, c1 = max(0, int(np.floor(uc - half))), min(width, int(np.ceil(uc + half)) + 1)
    if r0 < height and c1 > c0:  # neck and torso
        rr = np.arange(r0, height, dtype=np.float32)[:, None]
        dx = np.arange(c0, c1, dtype=np.float32)[None, :] - np.float32(uc)
        hw = np.float32(sw) + np.float32(slope) * np.maximum(rr - np.float32(ys), 0)
        corner = np.clip(np.float32(ys + rc) - rr, 0, rc)
        torso = (rr >= ys) & (np.abs(dx) <= hw - rc + np.sqrt(np.maximum(rc * rc - corner * corner, 0)))
        neck = (rr < ys + rc) & (np.abs(dx) <= 0.45 * rx)
        ux = np.clip(dx / hw, -1, 1)
        bulge = np.sqrt(1 - ux * ux)
        z = np.where(torso, np.float32(zf + 0.03) - np.float32(0.1) * bulge, np.float32(zf + 0.02))
        shade = 0.5 + 0.5 * np.clip(ux * light + bulge * 0.9, 0, 1)
        stripes = np.float32(stripe_amp) * np.sin((rr - np.float32(ys)) * np.float32(2 * np.pi / stripe_period))
        colour = np.where(torso, cloth * (1 + stripes + 0.05 * noise[r0:, c0:c1]), skin * 0.85) * shade
        cv.paint(r0, c0, torso | neck, z, colour, LAYER_FIGURE)
    r0, r1 = max(0, int(np.floor(vc - ry))), min(height, int(np.ceil(vc + ry)) + 1)
    c0, c1 = max(0, int(np.floor(uc - rx))), min(width, int(np.ceil(uc + rx)) + 1)
    if r1 <= r0 or c1 <= c0:
        return
    vy = (np.arange(r0, r1, dtype=np.float32)[:, None] - np.float32(vc)) / np.float32(ry)
    ux = (np.arange(c0, c1, dtype=np.float32)[None, :] - np.float32(uc)) / np.float32(rx)
    rho2 = ux * ux + vy * vy
    bulge = np.sqrt(np.clip(1 - rho2, 0, 1))
    eyes = (((np.abs(ux) - 0.38) / 0.12) ** 2 + ((vy + 0.02) / 0.07) ** 2) <= 1
    mouth = ((ux / 0.25) ** 2 + ((vy - 0.5) / 0.05) ** 2) <= 1
    colour = np.where(vy < -0.3 + 0.45 * ux * ux, hair, skin)
    colour = np.where(eyes, np.float32(35.0), np.where(mouth, skin * _rgb((0.75, 0.5, 0.5)), colour))
    shade = 0.45 + 0.55 * np.clip(ux * light - 0.3 * vy + bulge * 0.85, 0, 1)
    colour = colour * (shade * (1 + 0.03 * noise[r0:r1, c0:c1]))
    cv.paint(r0, c0, rho2 <= 1, np.float32(zf) - np.float32(0.09) * bulge, colour, LAYER_FIGURE)


def _dropout(rng, height: int, width: int) -> np.ndarray:
    """Valid mask with, in HOLE_PROBABILITY of scenes, an elliptic hole of 0.3-2.5 % of the image."""
    valid = np.ones((height, width), bool)
    if rng.random() < HOLE_PROBABILITY:
        area = rng.uniform(0.003, 0.025) * height * width
        ay = np.sqrt(area / np.pi * rng.uniform(0.5, 2.0))
        ax = area / (np.pi * ay)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r0, r1 = max(0, int(cy - ay)), min(height, int(cy + ay) + 2)
        c0, c1 = max(0, int(cx - ax)), min(width, int(cx + ax) + 2)
        yy = (np.arange(r0, r1, dtype=np.float32)[:, None] - np.float32(cy)) / np.float32(ay)
        xx = (np.arange(c0, c1, dtype=np.float32)[None, :] - np.float32(cx)) / np.float32(ax)
        valid[r0:r1, c0:c1] = yy * yy + xx * xx > 1
    return valid


def synthetic_depth_scene(
    rng: np.random.Generator, height: int, width: int, return_params: bool = False
) -> DepthSample | tuple[DepthSample, SceneParams]:
    """One scene of `height` x `width`; deterministic for a given rng state. With `return_params`,
    also the scene's SceneParams (camera, objects, per-pixel layer map)."""
    if height < 16 or width < 16:
        raise InputError(f"synthetic depth scenes need at least 16x16 pixels, got {height}x{width}")
    p = SceneParams(focal=rng.uniform(1.0, 1.3) * width, cx=width / 2 + rng.uniform(-0.03, 0.03) * width,
                    horizon=rng.uniform(0.20, 0.45) * height, camera_height=rng.uniform(1.2, 1.8))
    cv = _Canvas(height, width)
    noise = (rng.random((height, width), dtype=np.float32) - np.float32(0.5)) * np.float32(3.46)  # unit variance
    xn = ((np.arange(width) - p.cx) / p.focal).astype(np.float32)
    light = rng.uniform(-0.7, 0.7)
    haze = _sky(rng, cv, p, noise)
    background = rng.random()
    if background < 0.5:
        _facade(rng, cv, p, xn, noise)
    elif background < 0.8:
        _hills(rng, cv, p, xn, noise)
    _ground(rng, cv, p, xn, noise)
    z_bottom = float(p.ground_depth(height - 1))
    z_far = max(min(12.0, 0.8 * p.background_depth), 1.3 * z_bottom)
    depths = np.exp(rng.uniform(np.log(1.05 * z_bottom), np.log(z_far), int(rng.integers(1, 5))))
    for zc in sorted(depths, reverse=True):  # back to front
        obj = _object(rng, cv, p, float(zc), LAYER_OBJECT + len(p.objects), noise, light)
        if obj is not None:
            p.objects.append(obj)
    if rng.random() < FIGURE_PROBABILITY:
        p.figure_depth = float(rng.uniform(0.8, max(0.85, min(2.5, z_bottom - 0.25))))
        _figure(rng, cv, p, p.figure_depth, noise, light)

    # lighting gradient + vignette, aerial haze towards the horizon colour, sensor noise
    yy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    xx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    theta = rng.uniform(0, 2 * np.pi)
    light_field = np.float32(rng.uniform(0.85, 1.1)) * (
        1 + np.float32(rng.uniform(0, 0.25)) * (np.float32(np.cos(theta)) * xx + np.float32(np.sin(theta)) * yy)
        - np.float32(rng.uniform(0, 0.6)) * (xx * xx + yy * yy))
    mist = cv.z * np.float32(rng.uniform(0.15, 0.45) / MAX_DEPTH)
    image = cv.image
    image += (haze - image) * mist
    image *= light_field
    sigma = np.float32(rng.uniform(1.0, 4.0))
    for c, shift in enumerate(((0, 1), (3, 0), (1, 5))):  # independent per channel: shifted copies of the grain
        image[c] += sigma * np.roll(noise, shift, axis=(0, 1))
    image += 0.5
    np.clip(image, 0, 255, out=image)
    valid = _dropout(rng, height, width)
    depth = np.where(valid, cv.z, np.float32(0)) if not valid.all() else cv.z
    p.layers = cv.layer
    sample = DepthSample(image=image.transpose(1, 2, 0).astype(np.uint8), depth=depth, valid=valid,
                         portrait=cv.layer == LAYER_FIGURE, has_portrait=True)
    return (sample, p) if return_params else sample
