"""Temporally stable colors for films: the network's ab carried along the motion from frame to frame.

Colorizing each frame as a photo flickers: the network sees every frame anew, so a wall or a face changes
color from one frame to the next. ``Stabilizer`` warps the previous frame's (already stable) ab to the
current frame along the dense optical flow of the lightness (OpenCV's DIS, at the network's working size,
where flow costs a few milliseconds) and blends it with the current prediction:

    ab_t = w * warp(ab_{t-1}) + (1 - w) * predicted_t,    w = MEMORY where the motion is trusted

an exponential moving average along the motion. ``w`` falls to 0 where the warped past lightness disagrees
with the present (occlusions, the frame's new edge, a flash), and at a scene cut, detected from the
lightness, the past is dropped altogether. Only ab is touched: each frame keeps its own full-resolution L.

``flicker`` measures what this is for: the mean |ab change| between consecutive frames along the motion.
"""

import cv2
import numpy as np

MEMORY = 0.7  # weight of the past where the motion is trusted: an average over ~1 / (1 - MEMORY) = 3 frames
MISMATCH = 10.0  # L units: warped past lightness this far from the present is another surface (weight 0)
# A scene cut: most of the frame has no match in the previous one along the flow. A pan or zoom leaves
# under ~10 % of pixels unmatched (the new edge); two different shots leave most of them.
CUT_UNMATCHED = 0.5
_L_TO_U8 = 2.55  # L in [0, 100] -> [0, 255] for the flow, which works on 8-bit images


def _flow_sampling(flow):
    """Backward flow (h, w, 2) -> float32 maps (x, y) of where each pixel was, and which lie inside the frame."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return map_x, map_y, inside


def _warp(image, map_x, map_y):
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class Stabilizer:
    """Carries ab along the motion from one frame to the next; one per shot sequence (a video), fed in order.

    Call it with each frame's full-resolution L and the network's ab for it; it returns the ab to use.
    ``cuts`` lists the frame indices where it detected a new shot (and started afresh).
    """

    def __init__(self, memory=MEMORY):
        if not 0.0 <= memory < 1.0:
            raise ValueError(f"memory must be in [0, 1) (0: every frame on its own), got {memory}")
        self.memory = float(memory)
        # DIS "medium": robust to the ~1-3 px a frame that pans move at the working size, ~2 ms at 192 px.
        self.optical_flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.previous = None  # (lightness at the ab's size, uint8 (h, w); stable ab (h, w, 2))
        self.frame = 0
        self.cuts = []

    def __call__(self, lightness, ab):
        """Full-resolution L (H, W) in [0, 100] and the predicted ab (h, w, 2) for it -> stable ab (h, w, 2).

        ``ab`` is at the network's working size, in any scale (the model's [-1, 1] or Lab units).
        """
        ab = np.asarray(ab, np.float32)
        height, width = ab.shape[:2]
        small = cv2.resize(np.asarray(lightness, np.float32) * np.float32(_L_TO_U8), (width, height),
                           interpolation=cv2.INTER_AREA).reshape(height, width)
        small = np.clip(small + 0.5, 0, 255).astype(np.uint8)
        stable = ab
        if self.previous is not None and self.previous[0].shape == small.shape and self.memory > 0:
            stable = self._blend(small, ab, *self.previous)
        self.previous = (small, stable)
        self.frame += 1
        return stable

    def _blend(self, small, ab, previous_small, previous_ab):
        flow = self.optical_flow.calc(small, previous_small, None)  # this frame's pixels -> where they were
        map_x, map_y, inside = _flow_sampling(flow)
        mismatch = np.abs(_warp(previous_small.astype(np.float32), map_x, map_y) - small) / np.float32(_L_TO_U8)
        trusted = np.clip(1.0 - mismatch / np.float32(MISMATCH), 0.0, 1.0) * inside
        if np.mean(trusted < 0.5) > CUT_UNMATCHED:
            self.cuts.append(self.frame)
            return ab
        weight = (np.float32(self.memory) * trusted)[..., None]
        return weight * _warp(previous_ab, map_x, map_y) + (1.0 - weight) * ab


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
