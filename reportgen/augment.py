"""Batch augmentation on the device, for dermoscopy-like images: no per-image Python.

Every function takes normalised images (N, C, H, W) in [-1, 1] and a torch.Generator, and returns
a new tensor of the same shape. Random numbers are drawn on the CPU generator (reproducible for a
seed on every device) and moved to the images' device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * (high - low) + low).to(device)


def random_dihedral(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and rotation by 0/90/180/270 degrees, per image (lesions have no up)."""
    n = images.shape[0]
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    out = torch.where(flip[:, None, None, None], images.flip(3), images)
    turns = torch.randint(0, 4, (n,), generator=generator).to(images.device)
    for k in (1, 2, 3):
        chosen = turns == k
        if chosen.any():
            out[chosen] = torch.rot90(out[chosen], k, dims=(2, 3))
    return out


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator,
    degrees: float = 15.0,
    scale: float = 0.1,
    shift: float = 0.08,
) -> torch.Tensor:
    """Small rotation (±degrees), zoom (1 ± scale) and shift (± shift of the width), border-padded."""
    n, device = images.shape[0], images.device
    angle = _uniform(n, -degrees, degrees, generator, device) * math.pi / 180
    zoom = _uniform(n, 1 - scale, 1 + scale, generator, device)
    dx, dy = (_uniform(n, -2 * shift, 2 * shift, generator, device) for _ in range(2))
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, dx], 1), torch.stack([sin, cos, dy], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="border", align_corners=False)


def random_colour_jitter(
    images: torch.Tensor,
    generator: torch.Generator,
    brightness: float = 0.1,
    contrast: float = 0.15,
    saturation: float = 0.15,
) -> torch.Tensor:
    """Brightness shift, contrast and saturation scaling, per image; values stay in [-1, 1]."""
    n, device = images.shape[0], images.device
    shift = _uniform(n, -2 * brightness, 2 * brightness, generator, device)[:, None, None, None]
    gain = _uniform(n, 1 - contrast, 1 + contrast, generator, device)[:, None, None, None]
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    out = (images - mean) * gain + mean + shift
    if images.shape[1] == 3:
        grey = out.mean(dim=1, keepdim=True)
        colourfulness = _uniform(n, 1 - saturation, 1 + saturation, generator, device)[
            :, None, None, None
        ]
        out = grey + (out - grey) * colourfulness
    return out.clamp_(-1, 1)


def augment_batch(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The training augmentation: dihedral, then small affine, then colour jitter."""
    return random_colour_jitter(
        random_affine(random_dihedral(images, generator), generator), generator
    )


def dihedral_views(images: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips/rotations of a batch, for test-time augmentation."""
    views = []
    for flipped in (images, images.flip(3)):
        views.extend(torch.rot90(flipped, k, dims=(2, 3)) for k in range(4))
    return views
