"""Temporally stable colors for films: the network's ab averaged along the motion, before and after each frame.

Colorizing each frame as a photo flickers: the network sees every frame anew, so a wall or a face changes
color from one frame to the next. ``Stabilizer`` follows the dense optical flow of the lightness (OpenCV's
DIS, at the network's working size, where flow costs a few milliseconds) and averages the predicted ab
along it, both ways:

    forward_t  = w * warp(forward_{t-1})  + (1 - w) * predicted_t     (the past, carried to frame t)
    backward_t = w * warp(backward_{t+1}) + (1 - w) * predicted_t     (the frames ahead, carried back)
    stable_t   = (forward_t + backward_t) / 2

Either average alone lags (or leads) when the network's colors drift, as they do while a pan brings more
of a scene into view; their mean does not. ``w`` is MEMORY where the motion is trusted and falls to 0 where
the warped lightness disagrees with the frame's own (occlusions, the frame's new edge, a flash); at a scene
cut, detected from the lightness, neither average crosses. Frames ahead are only those already pushed: a
film is colorized one batch behind its decoding. Only ab is touched: each frame keeps its own full L.

``flicker`` measures what this is for: the mean |ab change| between consecutive frames along the motion.
"""

import cv2
import numpy as np

MEMORY = 0.7  # weight of the neighbor frame where the motion is trusted: each average spans ~1 / (1 - MEMORY) frames
MISMATCH = 10.0  # L units: warped lightness this far from the frame's own is another surface (weight 0)
# A scene cut: most of the frame has no match in the previous one along the flow. A pan or zoom leaves
# under ~10 % of pixels unmatched (the new edge); two different shots leave most of them.
CUT_UNMATCHED = 0.5
_L_TO_U8 = 2.55  # L in [0, 100] -> [0, 255] for the flow, which works on 8-bit images


def _flow_sampling(flow):
    """Flow (h, w, 2) -> float32 maps (x, y) of where each pixel lies in the other frame, and which fall inside it."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return map_x, map_y, inside


def _warp(image, map_x, map_y):
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class Stabilizer:
    """Averages ab along the motion over a film's frames, fed in order; one per film.

    ``push`` each frame's full-resolution L and the network's ab for it (at the working size, any scale);
    ``pop(n)`` returns the stable ab of the n oldest frames not yet returned, using every frame pushed
    after them as the frames ahead. ``cuts`` lists the frame indices where a new shot was detected.
    """

    def __init__(self, memory=MEMORY):
        if not 0.0 <= memory < 1.0:
            raise ValueError(f"memory must be in [0, 1) (0: every frame on its own), got {memory}")
        self.memory = float(memory)
        # DIS "medium": robust to the ~1-3 px a frame that pans move at the working size, ~2 ms at 192 px.
        self.optical_flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.last = None  # the newest frame: (lightness at the ab's size, uint8 (h, w); its forward average)
        self.window = []  # frames not yet popped: {"predicted", "forward", "ahead": link to the next frame}
        self.frame = 0
        self.cuts = []

    def push(self, lightness, ab):
        """Add the next frame: full-resolution L (H, W) in [0, 100] and its predicted ab (h, w, 2)."""
        ab = np.asarray(ab, np.float32)
        height, width = ab.shape[:2]
        small = cv2.resize(np.asarray(lightness, np.float32) * np.float32(_L_TO_U8), (width, height),
                           interpolation=cv2.INTER_AREA).reshape(height, width)
        small = np.clip(small + 0.5, 0, 255).astype(np.uint8)
        forward, ahead = ab, None
        if self.last is not None and self.last[0].shape == small.shape and self.memory > 0:
            previous_small, previous_forward = self.last
            back = self._link(small, previous_small)  # this frame's pixels -> the previous frame
            if back is None:
                self.cuts.append(self.frame)
            else:
                forward = self._blend(previous_forward, back, ab)
                ahead = self._link(previous_small, small, cut_checked=True)  # the previous frame's -> this one
        if self.window:
            self.window[-1]["ahead"] = ahead
        self.window.append({"predicted": ab, "forward": forward, "ahead": None})
        self.last = (small, forward)
        self.frame += 1

    def pop(self, count):
        """The stable ab (h, w, 2) of the ``count`` oldest frames not yet popped, in order."""
        backward = [self.window[-1]["predicted"]]
        for frame in reversed(self.window[:-1]):  # newest to oldest: the frames ahead carried back
            link = frame["ahead"]
            backward.append(frame["predicted"] if link is None else self._blend(backward[-1], link, frame["predicted"]))
        backward.reverse()
        stable = [(frame["forward"] + ahead) * np.float32(0.5)
                  for frame, ahead in zip(self.window[:count], backward[:count], strict=True)]
        del self.window[:count]
        return stable

    def _link(self, small, other_small, cut_checked=False):
        """Where each pixel of ``small`` lies in ``other_small`` and how far to trust it, or None at a cut."""
        flow = self.optical_flow.calc(small, other_small, None)
        map_x, map_y, inside = _flow_sampling(flow)
        mismatch = np.abs(_warp(other_small.astype(np.float32), map_x, map_y) - small) / np.float32(_L_TO_U8)
        trusted = np.clip(1.0 - mismatch / np.float32(MISMATCH), 0.0, 1.0) * inside
        if not cut_checked and np.mean(trusted < 0.5) > CUT_UNMATCHED:
            return None
        return map_x, map_y, (np.float32(self.memory) * trusted)[..., None]

    @staticmethod
    def _blend(neighbor_ab, link, ab):
        map_x, map_y, weight = link
        return weight * _warp(neighbor_ab, map_x, map_y) + (1.0 - weight) * ab


def flicker(lab_frames, flows, cuts=()):
    """Mean |ab change| (Lab units, a and b summed) between consecutive frames along the motion.

    Args:
        lab_frames: the frames in Lab, each (H, W, 3) float.
        flows: for each frame, its backward flow (H, W, 2): where each of its pixels was in the frame
            before (known camera motion, or ``estimate_flow``); None for the first and any not compared.
        cuts: frame indices that start a new shot; the pair across a cut is not compared.
    Returns:
        The mean over compared pairs of the per-pixel mean |a_t - a_{t-1}(warped)| + |b_t - b_{t-1}(warped)|,
        over the pixels that were inside the previous frame.
    """
    changes = []
    for index in range(1, len(lab_frames)):
        flow = flows[index]
        if flow is None or index in cuts:
            continue
        map_x, map_y, inside = _flow_sampling(np.asarray(flow, np.float32))
        previous = _warp(np.ascontiguousarray(lab_frames[index - 1][..., 1:], np.float32), map_x, map_y)
        change = np.abs(np.asarray(lab_frames[index][..., 1:], np.float32) - previous).sum(axis=-1)
        changes.append(float(change[inside].mean()))
    if not changes:
        raise ValueError("flicker needs at least two consecutive frames of one shot")
    return float(np.mean(changes))


def estimate_flow(lightness, previous_lightness):
    """Backward flow between two L frames (H, W) in [0, 100]: where each pixel of the first was in the second."""
    to_u8 = [np.clip(np.asarray(each, np.float32) * _L_TO_U8 + 0.5, 0, 255).astype(np.uint8)
             for each in (lightness, previous_lightness)]
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(*to_u8, None)
